// A saved state that fell behind the journal: snapshot.json could not be written (here a
// folder stands where it is renamed to) and nightshift was killed before it could save
// again. Resuming from the older state would run again what the journal says ran, so
// resume lists those steps and goes on only when told to.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { converse, freshStateDir, waitForLine } from '../support/cli.js';

function fixture() {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-stale-'));
  const runbook = path.join(dir, 'stale.yaml');
  writeFileSync(
    runbook,
    `name: Stale state
phases:
  - name: only
    steps:
      - checkpoint: The disk fills up now
        id: first
      - local: echo ran >> ${path.join(dir, 'marks')}
        id: marked
        title: mark the file
      - checkpoint: Nightshift is killed here
        id: second
`,
  );
  const stateDir = freshStateDir();
  onTestFinished(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });
  const sessionDir = () => {
    const sessions = path.join(stateDir, 'sessions');
    return path.join(sessions, readdirSync(sessions)[0]!);
  };
  return { dir, runbook, env: { NIGHTSHIFT_STATE_DIR: stateDir }, sessionDir, marks: () => readFileSync(path.join(dir, 'marks'), 'utf8') };
}

/** Runs until the second checkpoint with the snapshot blocked after the first, then kills nightshift; returns the state saved before. */
async function runIntoStaleState(fx: ReturnType<typeof fixture>): Promise<string> {
  let asked = 0;
  let savedBefore = '';
  const run = converse(
    ['run', fx.runbook, '--plain', '--no-helpers'],
    (line) => {
      if (!/Type yes to confirm/.test(line)) return undefined;
      asked++;
      if (asked > 1) return undefined;
      const snapshot = path.join(fx.sessionDir(), 'snapshot.json');
      savedBefore = path.join(fx.dir, 'snapshot.before');
      copyFileSync(snapshot, savedBefore);
      rmSync(snapshot);
      mkdirSync(path.join(snapshot, 'in-the-way'), { recursive: true });
      return 'yes';
    },
    fx.env,
  );
  onTestFinished(() => {
    run.child.kill('SIGKILL');
  });
  await waitForLine(run, /Nightshift is killed here/);
  await waitForLine(run, /Type yes to confirm/);
  run.child.kill('SIGKILL');
  await run.exited;
  expect(fx.marks()).toBe('ran\n');
  return savedBefore;
}

describe('resume from a saved state older than the journal', () => {
  it('lists the steps since, refuses, and goes on from the saved state only with --accept-stale-state', async () => {
    const fx = fixture();
    const savedBefore = await runIntoStaleState(fx);
    // The cause is gone (the disk was freed): the older state is what is left.
    const snapshot = path.join(fx.sessionDir(), 'snapshot.json');
    rmSync(snapshot, { recursive: true });
    copyFileSync(savedBefore, snapshot);

    const refused = converse(['resume', '--plain', '--no-helpers'], () => undefined, fx.env);
    expect(await refused.exited).toBe(1);
    const said = refused.stderr();
    expect(said).toMatch(/the saved state \(snapshot\.json\) is older than the journal: it could not be written from \w{3} \d\d:\d\d:\d\d on \(EISDIR/);
    expect(said).toMatch(
      /Since then the journal records:\n {2}1\.1 The disk fills up now: started before the saved state, done \w{3} \d\d:\d\d:\d\d\n {2}1\.2 mark the file: attempt 1 started \w{3} \d\d:\d\d:\d\d, done \w{3} \d\d:\d\d:\d\d\n {2}1\.3 Nightshift is killed here: attempt 1 started \w{3} \d\d:\d\d:\d\d, no end recorded/,
    );
    expect(said).toContain('--accept-stale-state');
    expect(fx.marks()).toBe('ran\n');

    // Told to: the run goes on from the saved state, which takes the marking step up again.
    const accepted = converse(
      ['resume', '--plain', '--no-helpers', '--accept-stale-state'],
      (line) => (/Type yes to confirm/.test(line) ? 'yes' : undefined),
      fx.env,
    );
    expect(await accepted.exited, accepted.lines.join('\n') + accepted.stderr()).toBe(0);
    expect(accepted.stderr()).toContain('going on from a saved state older than the journal');
    expect(readJournal(path.join(fx.sessionDir(), 'journal.jsonl')).filter((entry) => entry.type === 'snapshot.stale-accepted')).toEqual([
      expect.objectContaining({ steps: ['first', 'marked', 'second'] }),
    ]);
  });

  it('with no saved state at all though steps were journaled, refuses to start the run from the beginning', async () => {
    const fx = fixture();
    await runIntoStaleState(fx);
    rmSync(path.join(fx.sessionDir(), 'snapshot.json'), { recursive: true });
    const refused = converse(['resume', '--plain', '--no-helpers'], () => undefined, fx.env);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(/the saved state \(snapshot\.json\) is older than the journal/);
    expect(existsSync(path.join(fx.sessionDir(), 'snapshot.json'))).toBe(false);
    expect(fx.marks()).toBe('ran\n');
  });
});
