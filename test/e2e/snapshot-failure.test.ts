// A snapshot that cannot be written (here: a folder where snapshot.json goes, so the
// rename fails; out of file descriptors it is the open) must not end the run: it says so
// once, the journal keeps every event, and the next change after the cause is gone saves
// again.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { BIN, converse, freshStateDir, ROOT, waitForLine } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';
import { waitFor } from '../support/wait-for.js';

function writeRunbook(dir: string): string {
  const runbook = path.join(dir, 'steps.yaml');
  writeFileSync(
    runbook,
    `name: Snapshot trouble
phases:
  - name: only
    steps:
      - checkpoint: The folder is in the way now
        id: first
      - local: echo ran after the failure
        id: after
      - checkpoint: The folder is gone again
        id: second
      - local: echo ran after the recovery
        id: last
`,
  );
  return runbook;
}

/** A folder with something in it where the snapshot is renamed to (again if a save slips in between). */
function blockSnapshot(file: string): void {
  for (let attempt = 0; ; attempt++) {
    rmSync(file, { force: true });
    try {
      mkdirSync(path.join(file, 'in-the-way'), { recursive: true });
      return;
    } catch (error) {
      if (attempt >= 20) throw error;
    }
  }
}

describe('a snapshot that cannot be written', () => {
  it('leaves the run going, is said once, and the journal complete', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-snapshot-'));
    const runbook = writeRunbook(dir);
    const stateDir = freshStateDir();
    const sessions = path.join(stateDir, 'sessions');
    const snapshotFile = () => path.join(sessions, readdirSync(sessions)[0]!, 'snapshot.json');
    let asked = 0;
    const run = converse(
      ['run', runbook, '--plain', '--no-helpers'],
      (line) => {
        if (!/Type yes to confirm/.test(line)) return undefined;
        asked++;
        if (asked === 1) {
          blockSnapshot(snapshotFile());
        } else {
          rmSync(snapshotFile(), { recursive: true });
        }
        return 'yes';
      },
      { NIGHTSHIFT_STATE_DIR: stateDir },
    );
    onTestFinished(() => {
      run.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      rmSync(stateDir, { recursive: true, force: true });
    });
    await waitForLine(run, /ran after the recovery/);
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);

    const said = run
      .stderr()
      .split('\n')
      .filter((line) => line.includes("could not save the run's state"));
    console.log(said[0]);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(
      /^nightshift: could not save the run's state in .*snapshot\.json \(EISDIR[^)]*\): the run goes on and the journal keeps every event, but a resume now would start from the state saved at \d\d:\d\d:\d\d;/,
    );
    expect(
      run
        .stderr()
        .split('\n')
        .filter((line) => line.includes("the run's state is saved again")),
    ).toHaveLength(1);

    const sessionDir = path.dirname(snapshotFile());
    const journal = readJournal(path.join(sessionDir, 'journal.jsonl'));
    const steps = journal
      .filter((entry) => ['step.started', 'step.confirmed', 'step.finished'].includes(entry.type))
      .map((entry) => `${entry.type} ${String(entry['stepId'])}`);
    expect(steps).toEqual([
      'step.started first',
      'step.confirmed first',
      'step.finished first',
      'step.started after',
      'step.finished after',
      'step.started second',
      'step.confirmed second',
      'step.finished second',
      'step.started last',
      'step.finished last',
    ]);
    expect(journal.filter((entry) => entry.type.startsWith('snapshot.')).map((entry) => entry.type)).toEqual(['snapshot.failed', 'snapshot.recovered']);
    // Every entry once, in order.
    expect(journal.map((entry) => entry.seq)).toEqual(journal.map((_, index) => index + 1));
    expect(journal.at(-1)?.type).toBe('session.closed');
    // Saved again at the end, and no temporary file left behind.
    expect(JSON.parse(readFileSync(snapshotFile(), 'utf8')).version).toBe(1);
    expect(readdirSync(sessionDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(snapshotFile())).toBe(true);
  }, 60_000);

  it.skipIf(!tmuxAvailable())(
    'full screen: the upgrader alone is told in the chat, once, and the run goes on',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'ns-snapshot-'));
      const stateDir = freshStateDir();
      const tmux = TmuxSession.start([process.execPath, BIN, 'run', writeRunbook(dir), '--no-helpers'], {
        cwd: ROOT,
        cols: 160,
        rows: 45,
        env: { NIGHTSHIFT_STATE_DIR: stateDir },
      });
      try {
        // The checkpoint asked (the runbook panel lists its text from the start).
        await tmux.waitFor(/y confirm/, 15_000, 'the first checkpoint asked');
        const sessions = path.join(stateDir, 'sessions');
        const snapshotFile = path.join(sessions, readdirSync(sessions)[0]!, 'snapshot.json');
        await waitFor(() => existsSync(snapshotFile), { what: 'the first saved state', timeoutMs: 5000, intervalMs: 20 });
        blockSnapshot(snapshotFile);
        tmux.keys('y');
        const warned = await tmux.waitFor(/could not save the run's state/, 5000, 'the warning in the chat');
        expect(warned.replace(/\s+/g, ' ')).toMatch(/could not save the run's state in .* the run goes on/);
        // The run goes on: the local step runs and the next checkpoint is asked.
        const journalFile = path.join(path.dirname(snapshotFile), 'journal.jsonl');
        await waitFor(() => readJournal(journalFile).some((entry) => entry.type === 'step.started' && entry['stepId'] === 'second'), {
          what: 'the run to go on to the step "second"',
          timeoutMs: 15_000,
          intervalMs: 50,
          detail: () => `the screen was:\n${tmux.screen()}`,
        });
        expect(tmux.screen().match(/could not save the run's state/g) ?? []).toHaveLength(1);
        rmSync(snapshotFile, { recursive: true });
        tmux.keys('y');
        await tmux.waitFor(/The run completed/, 15_000);
        await tmux.waitFor(/saved again/, 5000, 'the recovery in the chat');
        // Not said again (the run's own notes since may have moved it out of the panel).
        expect((tmux.screen().match(/could not save the run's state/g) ?? []).length).toBeLessThanOrEqual(1);
        tmux.keys('q');
        expect(await tmux.waitForExit()).toBe(0);
      } finally {
        tmux.kill();
        rmSync(dir, { recursive: true, force: true });
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
