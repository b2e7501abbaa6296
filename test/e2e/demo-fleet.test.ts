// `nightshift demo --scenario fleet`: twelve in-process guests updated in batches (canary
// vm01, then four at a time); vm03's package check fails, the upgrader chooses what happens
// to vm03, its batch finishes, the rollout halts, and goes on when told to.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAILING_FLEET_HOST, FLEET_HOST_NAMES } from '../../src/lab/fleet-hosts.js';
import { readJournal } from '../../src/store/journal.js';
import { BIN, converse, freshStateDir, ROOT, typedAnswer, type Conversation } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

type Entry = ReturnType<typeof readJournal>[number];

function journalOf(stateDir: string): Entry[] {
  const sessions = path.join(stateDir, 'sessions');
  const [id] = readdirSync(sessions);
  return readJournal(path.join(sessions, id!, 'journal.jsonl'));
}

/** What a typed confirmation asks for: the checkpoints of a rollout say "Type yes to continue the rollout". */
function confirmationAnswer(line: string): string | undefined {
  return typedAnswer(line) ?? (/Type yes to continue the rollout/.test(line) ? 'yes' : undefined);
}

/** Index of the first entry that matches, -1 when none does. */
const indexOf = (entries: Entry[], match: (entry: Entry) => boolean) => entries.findIndex(match);

/**
 * Runs the fleet demo in plain mode: typed confirmations (the canary's and the halt's
 * checkpoints) are answered with what they ask; the failure of vm03 with `forVm03` (the
 * word and a reason), any other failure with pause. Collects the failure prompts: the lines up to each "Answer ...".
 */
function runFleetDemo(forVm03: string, extra: string[] = []) {
  const stateDir = freshStateDir();
  const failures: string[] = [];
  const run = converse(
    ['demo', '--plain', '--scenario', 'fleet', ...extra],
    (line, lines) => {
      if (/^\s*Answer .*\bskip REASON\b/.test(line)) {
        // The question is the line before the answers: "? [vm03] 1.2@vm03 ... failed on vm03: ...".
        const prompt = `${lines.at(-2) ?? ''}\n${line}`;
        failures.push(prompt);
        if (!prompt.includes(FAILING_FLEET_HOST)) return 'pause';
        // Answered once: asked again about vm03, the test leaves it unanswered (and fails on the count below).
        return failures.filter((asked) => asked.includes(FAILING_FLEET_HOST)).length === 1 ? forVm03 : undefined;
      }
      return confirmationAnswer(line);
    },
    { NIGHTSHIFT_STATE_DIR: stateDir },
  );
  return { run, stateDir, failures };
}

/** The exit code once the run has ended; a run still going after `ms` is killed and fails the test with what it printed. */
async function exitOf(run: Conversation, ms = 90_000): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const ended = await Promise.race([run.exited, late]);
  clearTimeout(timer);
  if (ended !== 'late') return ended;
  run.child.kill('SIGKILL');
  throw new Error(`the fleet demo did not end in ${ms} ms; it printed:\n${run.lines.join('\n')}\n${run.stderr()}`);
}

/** What every fleet demo run shows, whatever is chosen for vm03: canary, halt after batch 2, the rest after "go on". */
function expectRollout(entries: Entry[], vm03Outcome: string): void {
  const others = FLEET_HOST_NAMES.filter((host) => host !== FAILING_FLEET_HOST);
  const batches = entries.filter((entry) => entry.type === 'batch.started');
  expect(batches[0]).toMatchObject({ phase: 'update', batch: 1, canary: true, hosts: ['vm01'] });
  expect(batches.map((entry) => entry['batch'])).toEqual([1, 2, 3, 4]);
  expect(batches.flatMap((entry) => entry['hosts'] as string[])).toEqual([...FLEET_HOST_NAMES]);
  const vm03Batch = batches.find((entry) => (entry['hosts'] as string[]).includes(FAILING_FLEET_HOST))!;
  expect(vm03Batch['batch']).toBe(2);

  // The canary's checkpoint was confirmed before batch 2 started.
  const canaryConfirmed = indexOf(entries, (entry) => entry.type === 'step.confirmed' && entry['stepId'] === 'update-canary');
  expect(canaryConfirmed).toBeGreaterThan(-1);
  expect(canaryConfirmed).toBeLessThan(indexOf(entries, (entry) => entry.type === 'batch.started' && entry['batch'] === 2));

  // The rollout halted after batch 2 with vm03 named, and batch 3 started only once the halt was confirmed.
  const halted = entries.filter((entry) => entry.type === 'rollout.halted');
  expect(halted).toEqual([expect.objectContaining({ phase: 'update', batch: 2, failed: [FAILING_FLEET_HOST], maxFail: 0 })]);
  const haltConfirmed = indexOf(entries, (entry) => entry.type === 'step.confirmed' && /^update-halt-/.test(String(entry['stepId'])));
  expect(haltConfirmed).toBeGreaterThan(indexOf(entries, (entry) => entry.type === 'rollout.halted'));
  expect(indexOf(entries, (entry) => entry.type === 'batch.started' && entry['batch'] === 3)).toBeGreaterThan(haltConfirmed);
  expect(indexOf(entries, (entry) => entry.type === 'host.started' && entry['host'] === 'vm06')).toBeGreaterThan(haltConfirmed);

  // Every host ended once: vm03 as chosen, the others done.
  const finished = entries.filter((entry) => entry.type === 'host.finished');
  expect(finished.map((entry) => entry['host']).sort()).toEqual([...FLEET_HOST_NAMES]);
  expect(finished.find((entry) => entry['host'] === FAILING_FLEET_HOST)).toMatchObject({ outcome: vm03Outcome });
  for (const host of others)
    expect(
      finished.find((entry) => entry['host'] === host),
      host,
    ).toMatchObject({ outcome: 'done' });
  // A paused run has a run.finished (paused) of its own; the rollout ends completed.
  expect(entries.filter((entry) => entry.type === 'run.finished').at(-1)).toMatchObject({ outcome: 'completed' });
}

describe('nightshift demo --scenario fleet --plain', () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  });

  it('vm03 fails its package check, the prompt names it, skip host leaves it as it is; the rollout halts after its batch and goes on when confirmed', async () => {
    const { run, stateDir, failures } = runFleetDemo('skip vm03 needs dpkg --configure -a by hand');
    folders.push(stateDir);
    const code = await exitOf(run);
    const text = run.lines.join('\n');
    expect(code, text + run.stderr()).toBe(0);

    // One failure prompt, about vm03, naming it and the half-configured package.
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^\? \[vm03\] 1\.2@vm03 .* failed on vm03/);
    expect(text).toContain('libssl3 (state iF)');

    const entries = journalOf(stateDir);
    expectRollout(entries, 'skipped');
    expect(entries).toContainEqual(expect.objectContaining({ type: 'decision', action: 'skip-host', host: FAILING_FLEET_HOST }));
    // Skipped: nothing of vm03's was updated or put back.
    const vm03Steps = entries.filter((entry) => entry.type === 'step.started' && String(entry['stepId']).endsWith(`@${FAILING_FLEET_HOST}`));
    expect(vm03Steps.map((entry) => entry['stepId'])).toEqual([`keep@${FAILING_FLEET_HOST}`, `check@${FAILING_FLEET_HOST}`]);
  }, 120_000);

  it('fall back host runs vm03 its own fallback: its package state is put back; the others are updated', async () => {
    const labDir = mkdtempSync(path.join(tmpdir(), 'ns-fleet-lab-'));
    folders.push(labDir);
    const { run, stateDir, failures } = runFleetDemo('fallback vm03 must not run half-configured', ['--lab-dir', labDir]);
    folders.push(stateDir);
    const code = await exitOf(run);
    expect(code, run.lines.join('\n') + run.stderr()).toBe(0);
    expect(failures, 'vm03 asked about once, not again while its fallback runs').toHaveLength(1);
    expect(failures[0]).toContain(FAILING_FLEET_HOST);

    const entries = journalOf(stateDir);
    expectRollout(entries, 'fell-back');
    expect(entries).toContainEqual(expect.objectContaining({ type: 'decision', action: 'fallback-host', host: FAILING_FLEET_HOST }));

    // On the hosts themselves: vm03's package state was put back from what it kept; every other guest is up to date.
    const hostDir = (host: string) => path.join(labDir, 'hosts', host);
    expect(readFileSync(path.join(hostDir(FAILING_FLEET_HOST), 'var/log/pkg.log'), 'utf8')).toMatch(/rollback to the kept package state/);
    expect(readFileSync(path.join(hostDir(FAILING_FLEET_HOST), 'var/lib/pkg/status'), 'utf8')).toContain('iF libssl3 ');
    for (const host of FLEET_HOST_NAMES.filter((name) => name !== FAILING_FLEET_HOST)) {
      const status = readFileSync(path.join(hostDir(host), 'var/lib/pkg/status'), 'utf8');
      expect(status, host).toContain('ii nginx 1.22.1-9+deb12u2');
      expect(existsSync(path.join(hostDir(host), 'var/backups/pkg-status.before')), host).toBe(true);
    }
  }, 120_000);

  it('paused at the canary, nightshift resume goes on in the same lab: the rest of the rollout, each guest once', async () => {
    const labDir = mkdtempSync(path.join(tmpdir(), 'ns-fleet-lab-'));
    const stateDir = freshStateDir();
    folders.push(labDir, stateDir);
    const env = { NIGHTSHIFT_STATE_DIR: stateDir };
    const first = converse(['demo', '--plain', '--scenario', 'fleet', '--lab-dir', labDir], (line) => (/Type yes to/.test(line) ? 'pause' : undefined), env);
    expect(await exitOf(first), first.lines.join('\n') + first.stderr()).toBe(4);

    let askedAboutVm03 = 0;
    const second = converse(
      ['resume', '--plain'],
      (line, lines) => {
        if (/^\s*Answer .*\bskip REASON\b/.test(line))
          return (lines.at(-2) ?? '').includes(FAILING_FLEET_HOST) && ++askedAboutVm03 === 1 ? 'skip left for the morning' : undefined;
        return confirmationAnswer(line);
      },
      env,
    );
    expect(await exitOf(second), second.lines.join('\n') + second.stderr()).toBe(0);
    expect(second.stderr()).toMatch(/resuming session \S+ \(Demo fleet update/);
    const entries = journalOf(stateDir);
    expect(entries.filter((entry) => entry.type === 'session.resumed')).toHaveLength(1);
    expectRollout(entries, 'skipped');
    // The guests of the lab it was paused in: vm01 was updated before the pause, once.
    const log = readFileSync(path.join(labDir, 'hosts', 'vm01', 'var/log/pkg.log'), 'utf8');
    expect(log.match(/upgrade nginx /g)).toHaveLength(1);
  }, 120_000);
});

/** The prompt's box: the last frame drawn across the whole width, above the status bar. */
function promptBox(screen: string): string {
  const lines = screen.replace(/\n$/, '').split('\n');
  const top = lines.findLastIndex((line) => /^╭─+╮$/.test(line.trimEnd()));
  return top === -1 ? '' : lines.slice(top).join('\n');
}

describe.skipIf(!tmuxAvailable())('nightshift demo --scenario fleet in the full-screen view', () => {
  let tmux: TmuxSession | undefined;
  const folders: string[] = [];
  afterEach(() => {
    tmux?.kill();
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  });

  it('shows the host grid counting the twelve guests batch by batch; the failure prompt names vm03, skipping it halts the rollout, going on ends it', async () => {
    const stateDir = freshStateDir();
    const labDir = mkdtempSync(path.join(tmpdir(), 'ns-fleet-lab-'));
    folders.push(stateDir, labDir);
    tmux = TmuxSession.start([process.execPath, BIN, 'demo', '--scenario', 'fleet', '--lab-dir', labDir], {
      cols: 140,
      rows: 45,
      cwd: ROOT,
      env: { NIGHTSHIFT_STATE_DIR: stateDir },
    });
    const term = tmux;
    // The canary's checkpoint: the grid counts vm01 done and the other eleven queued, batch by batch.
    const atCanary = await term.waitFor(
      (screen) => /12 hosts · batch 1\/4/.test(screen) && /canary batch 1\/4: 1 done/.test(screen) && /continue the rollout/.test(promptBox(screen)),
      30_000,
      'the grid of the twelve guests at the canary',
    );
    expect(atCanary).toMatch(/11 queued/);
    expect(atCanary).toMatch(/batch 2\/4: 4 queued/);
    term.keys('y');
    // vm03's failure: the grid counts it, and the prompt names it with the rollout's answers.
    const atFailure = await term.waitFor(
      (screen) =>
        /vm03 .*FAILED/.test(screen.replace(promptBox(screen), '')) && promptBox(screen).includes(FAILING_FLEET_HOST) && /skip/i.test(promptBox(screen)),
      30_000,
      "vm03's failure in the grid and the prompt",
    );
    expect(promptBox(atFailure)).toMatch(/stop the rollout|stop-rollout/i);
    // Skip vm03 with a reason: its batch ends, the rollout halts and asks; going on takes the run to its end.
    term.keys('s');
    await term.waitFor(/Why skip vm03\?/, 10_000, 'the reason asked for skipping vm03');
    term.type('vm03 waits for dpkg by hand');
    term.keys('Enter');
    const atHalt = await term.waitFor(
      (screen) => /continue the rollout/.test(promptBox(screen)) && promptBox(screen).includes(FAILING_FLEET_HOST),
      30_000,
      'the halt naming vm03',
    );
    expect(atHalt).toMatch(/batch 2\/4: 3 done, 1 (failed|skipped)/);
    term.keys('y');
    await term.waitFor(/The run completed/, 60_000, 'the end of the rollout');
    term.keys('q');
    expect(await term.waitForExit()).toBe(0);
    expectRollout(journalOf(stateDir), 'skipped');
  }, 90_000);

  it('with its output not a terminal, runs in plain mode: the answers typed in the terminal take the rollout to its end', async () => {
    const stateDir = freshStateDir();
    const labDir = mkdtempSync(path.join(tmpdir(), 'ns-fleet-lab-'));
    const out = path.join(stateDir, 'out.txt');
    folders.push(stateDir, labDir);
    tmux = TmuxSession.start(['sh', '-c', `exec "$0" "${BIN}" demo --scenario fleet --lab-dir "${labDir}" > "${out}"`, process.execPath], {
      cwd: ROOT,
      env: { NIGHTSHIFT_STATE_DIR: stateDir },
    });
    const term = tmux;
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').slice(0, -1) : []);
    let answered = 0;
    const deadline = Date.now() + 90_000;
    while (term.exitStatus() === null) {
      if (Date.now() > deadline) throw new Error(`the demo did not end; it printed:\n${lines().join('\n')}\nthe screen:\n${term.screen()}`);
      const asked = lines().flatMap((line) => {
        if (/^\s*Answer .*\bskip REASON\b/.test(line)) return ['skip vm03 is left for the morning'];
        const typed = confirmationAnswer(line);
        return typed === undefined ? [] : [typed];
      });
      if (asked.length > answered) {
        term.type(asked[answered]!);
        term.keys('Enter');
        answered++;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(term.exitStatus(), lines().join('\n')).toBe(0);
    expect(answered).toBe(3); // the canary, vm03, the halt
    expect(readFileSync(out, 'utf8')).not.toContain('\x1b');
    expectRollout(journalOf(stateDir), 'skipped');
  }, 120_000);
});
