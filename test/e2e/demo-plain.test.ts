import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { converse, freshStateDir, typedAnswer } from '../support/cli.js';

function journalOf(stateDir: string) {
  const sessions = path.join(stateDir, 'sessions');
  const [id] = readdirSync(sessions);
  return { dir: path.join(sessions, id!), entries: readJournal(path.join(sessions, id!, 'journal.jsonl')) };
}

describe('nightshift demo --plain, answered through stdin', () => {
  it('runs the miniature gateway swap to the end, refusing a wrongly typed confirmation first', async () => {
    const stateDir = freshStateDir();
    let refusedOnce = false;
    const run = converse(
      ['demo', '--plain'],
      (line) => {
        const typed = typedAnswer(line);
        if (typed === undefined) return undefined;
        if (!refusedOnce && line.includes('to run it')) {
          refusedOnce = true;
          return `${typed}-not-this`;
        }
        return typed;
      },
      { NIGHTSHIFT_STATE_DIR: stateDir },
    );
    const code = await run.exited;
    expect(code, run.lines.join('\n') + run.stderr()).toBe(0);

    const text = run.lines.join('\n');
    expect(text).toMatch(/! not accepted for .*: the typed text does not match/);
    expect(text).toMatch(/^dolphin\| /m); // remote output, prefixed with its host
    expect(text).toMatch(/run completed$/m);
    // The one command a helper in a second terminal runs, with the code and the key to compare.
    expect(text).toMatch(
      /^helpers join with: .+ join in a second terminal \(or ssh -p \d+ sentinel@127\.0\.0\.1\) · code \d{3}-\d{3}-\d{3} · key SHA256:\S{43}$/m,
    );

    const { dir, entries } = journalOf(stateDir);
    const types = entries.map((entry) => entry.type);
    expect(types[0]).toBe('run.started');
    // Every step start is printed, the very first ones included.
    const startedLines = run.lines.filter((line) => /^\[\d\d:\d\d:\d\d\] (>|i) \d+\.\d+ /.test(line));
    expect(startedLines).toHaveLength(types.filter((type) => type === 'step.started').length);
    expect(startedLines[0]).toMatch(/ i 1\.1 /);
    expect(types).toContain('step.approved');
    expect(types.filter((type) => type === 'step.refused')).toHaveLength(1);
    expect(entries.find((entry) => entry.type === 'run.finished')).toMatchObject({ outcome: 'completed' });
    expect(types.at(-1)).toBe('session.closed');
    // Every step that ran has its output referenced, and the file holds what was counted.
    const outputs = entries.filter((entry) => entry.type === 'output.closed');
    expect(outputs.length).toBeGreaterThan(3);
    for (const output of outputs) {
      expect(readFileSync(path.join(dir, String(output['file']))).length).toBe(output['bytes']);
    }
    // The sentinel's checkpoint was recorded by the upgrader for them, and says so.
    expect(entries).toContainEqual(expect.objectContaining({ type: 'step.confirmed', role: 'sentinel', relayed: true }));
    const seqs = entries.map((entry) => entry.seq);
    expect(seqs).toEqual(seqs.map((_, index) => index + 1));
  });

  it('falls back when verification fails after the swap, and says so in the exit status and the journal', async () => {
    const stateDir = freshStateDir();
    const run = converse(
      ['demo', '--plain', '--scenario', 'wrong-route'],
      (line) => {
        if (/Answer retry \| skip REASON \| fallback REASON \| pause/.test(line)) return 'fallback the routing table is wrong';
        return typedAnswer(line);
      },
      { NIGHTSHIFT_STATE_DIR: stateDir },
    );
    const code = await run.exited;
    expect(code, run.lines.join('\n') + run.stderr()).toBe(3);
    const { entries } = journalOf(stateDir);
    const failed = entries.find((entry) => entry.type === 'step.finished' && entry['status'] === 'failed');
    expect(failed).toBeDefined();
    expect(entries).toContainEqual(expect.objectContaining({ type: 'fallback.started', reason: 'the routing table is wrong', fromStepId: failed!['stepId'] }));
    expect(entries.find((entry) => entry.type === 'run.finished')).toMatchObject({ outcome: 'fell-back' });
  });

  it('pauses when its input ends while a step waits for an answer', async () => {
    const stateDir = freshStateDir();
    const run = converse(['demo', '--plain'], () => undefined, { NIGHTSHIFT_STATE_DIR: stateDir });
    run.child.stdin.end();
    const code = await run.exited;
    expect(code, run.lines.join('\n')).toBe(4);
    expect(run.lines.join('\n')).toMatch(/input ended while a step was waiting for an answer: pausing the run/);
    const { entries } = journalOf(stateDir);
    expect(entries.find((entry) => entry.type === 'run.finished')).toMatchObject({ outcome: 'paused' });
  });

  it('--json prints events, prompts and output lines as JSON objects', async () => {
    const stateDir = freshStateDir();
    const run = converse(
      ['demo', '--json'],
      (line) => {
        const event = JSON.parse(line) as { type: string; for?: string; text?: string; roles?: string[] };
        if (event.type !== 'prompt') return undefined;
        return typedAnswer(event.text ?? '');
      },
      { NIGHTSHIFT_STATE_DIR: stateDir },
    );
    expect(await run.exited, run.stderr()).toBe(0);
    const events = run.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.some((event) => event['type'] === 'output' && event['host'] === 'dolphin')).toBe(true);
    expect(events.some((event) => event['type'] === 'prompt' && event['for'] === 'approval')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', outcome: 'completed' });
    // The stream's lines: each versioned; the journal's entries, in order, with the session id and ISO times.
    expect(events.every((event) => event['v'] === 1)).toBe(true);
    const { id, entries } = { id: readdirSync(path.join(stateDir, 'sessions'))[0]!, ...journalOf(stateDir) };
    const streamed = events.filter((event) => 'seq' in event);
    expect(streamed[0]).toMatchObject({ type: 'run.started', session: id, seq: 1 });
    expect(streamed.every((event) => event['session'] === id && !Number.isNaN(Date.parse(String(event['at']))))).toBe(true);
    expect(streamed.map(({ v: _v, ...entry }) => entry)).toEqual(entries.slice(0, streamed.length).map((entry) => ({ ...entry, session: id })));
  });

  it('link-drop: the link to dolphin drops mid-restore, the step goes on, and every line arrives exactly once', async () => {
    const stateDir = freshStateDir();
    const labDir = path.join(freshStateDir(), 'lab');
    const run = converse(['demo', '--plain', '--scenario', 'link-drop', '--lab-dir', labDir], (line) => typedAnswer(line), {
      NIGHTSHIFT_STATE_DIR: stateDir,
    });
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(/^dolphin\| nightshift: the link to dolphin dropped; reconnecting to follow the command on/m);
    expect(text).toMatch(/^dolphin\| nightshift: reconnected to dolphin$/m);

    const { dir, entries } = journalOf(stateDir);
    const dolphinEntries = entries.filter((entry) => entry.type === 'host.state' && entry['host'] === 'dolphin');
    // The run goes on with the check's login; the drop makes it log in again.
    expect(dolphinEntries.map((entry) => entry['state'])).toEqual(['connected', 'failed', 'connected', 'closed']);
    expect(dolphinEntries[0]).toMatchObject({ loggedInBy: 'check' });
    // The step during which the link dropped printed exactly what tar lists, once each, in order.
    const dropped = entries.findIndex((entry) => entry.type === 'host.state' && entry['state'] === 'failed');
    const during = entries
      .slice(0, dropped)
      .filter((entry) => entry.type === 'step.started')
      .at(-1)!;
    const step = String(during['stepId']);
    expect(step).toMatch(/^restore-/);
    const archive = { 'restore-1': 'root', 'restore-2': 'usr', 'restore-3': 'var' }[step] ?? 'root';
    const listing = execFileSync('tar', ['-tzf', path.join(labDir, 'hosts/dolphin/restore', `${archive}.tar.gz`)], { encoding: 'utf8' });
    expect(readFileSync(path.join(dir, 'output', `${step}.1.log`), 'utf8')).toBe(listing);
  });
});
