// Pause, crash and resume with the built binary against OpenSSH's sshd: a session stopped
// at any moment goes on at the exact step, and nothing runs twice blindly.
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { converse, freshStateDir, killAndResume, testSeed, typedAnswer, waitForLine, type Conversation } from '../support/cli.js';
import { journalStory } from '../support/journal-story.js';
import { waitFor } from '../support/wait-for.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { scratchFolders } from '../support/scratch-folder.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

interface Entry {
  seq: number;
  type: string;
  stepId?: string;
  status?: string;
  exitCode?: number | null;
  action?: string;
  reason?: string;
  [field: string]: unknown;
}

/** A runbook with a slow detached step, a local step with a check, a local one without, a checkpoint. */
function writeRunbook(dir: string, options: { slowLines?: number } = {}): string {
  const lines = options.slowLines ?? 30;
  const file = path.join(dir, 'resume.yaml');
  writeFileSync(
    file,
    [
      'name: resume rehearsal',
      'sites:',
      '  upgrader: { name: Massachusetts office, tz: America/New_York }',
      '  site: { name: Taipei office, tz: Asia/Taipei }',
      'hosts:',
      '  dolphin: {}',
      'phases:',
      '  - name: restore',
      '    steps:',
      '      - run: echo first on $(hostname)',
      '        host: dolphin',
      '        id: first',
      `      - run: for i in $(seq 1 ${lines}); do echo line $i; sleep 0.1; done; echo stderr-end >&2`,
      '        host: dolphin',
      '        id: slow',
      '      - local: echo marked >> marks; touch checked-marker; sleep 2',
      '        check: test -f checked-marker',
      '        id: with-check',
      '      - local: touch unchecked-started; sleep 1; echo once >> unchecked-marks',
      '        id: without-check',
      '      - checkpoint: the restore looks right',
      '        id: look',
      '      - run: echo last',
      '        host: dolphin',
      '        id: last',
      '',
    ].join('\n'),
  );
  return file;
}

describeWithSshd('pause, crash and resume against OpenSSH sshd', () => {
  let sshd: Sshd;
  let sshConfig: string;
  let knownHosts: string;

  beforeAll(async () => {
    sshd = await Sshd.start();
    const dir = scratch('ns-resume-ssh-');
    sshConfig = path.join(dir, 'ssh_config');
    knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(sshConfig, sshd.clientConfig('dolphin'));
    writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`);
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  function fixture(options: { slowLines?: number } = {}) {
    const dir = scratch('ns-resume-');
    return { dir, runbook: writeRunbook(dir, options), env: { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' } };
  }

  const sshArgs = () => ['--ssh-config', sshConfig, '--known-hosts', knownHosts];

  /** Answers checkpoints and marks an interrupted step without a check as done. */
  const answers = (line: string) => {
    if (/was interrupted/.test(line)) return undefined;
    if (/Answer retry \(run it again\) \| done REASON/.test(line)) return 'done looked at the marks file: it ran';
    if (/Answer retry/.test(line)) return 'pause';
    return typedAnswer(line);
  };

  function start(fx: ReturnType<typeof fixture>, answer: (line: string) => string | undefined = answers): Conversation {
    return converse(['run', '--plain', fx.runbook, ...sshArgs()], answer, fx.env);
  }

  function resume(fx: ReturnType<typeof fixture>, extra: string[] = [], answer: (line: string) => string | undefined = answers): Conversation {
    return converse(['resume', '--plain', ...extra], answer, fx.env);
  }

  function sessionDir(fx: ReturnType<typeof fixture>): string {
    const root = path.join(fx.env.NIGHTSHIFT_STATE_DIR, 'sessions');
    const [id] = readdirSync(root);
    return path.join(root, id!);
  }

  /** The saved state has `stepId` running: a kill from now on interrupts it. */
  function savedRunning(fx: ReturnType<typeof fixture>, stepId: string): boolean {
    try {
      const saved = JSON.parse(readFileSync(path.join(sessionDir(fx), 'snapshot.json'), 'utf8')) as {
        machine?: { value?: { main?: Record<string, unknown> } };
      };
      return saved.machine?.value?.main?.[stepId] === 'working';
    } catch {
      return false; // not written yet
    }
  }

  function journal(fx: ReturnType<typeof fixture>): Entry[] {
    return readFileSync(path.join(sessionDir(fx), 'journal.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Entry);
  }

  /** A clock as the upgrader reads it in a zone: Sun 03:15. */
  const clockIn = (tz: string, at: Date) =>
    `${at.toLocaleDateString('en-US', { timeZone: tz, weekday: 'short' })} ${at.toLocaleTimeString('en-US', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })}`;

  it.each(['SIGTERM', 'SIGHUP'] as const)(
    '%s in the middle of a detached step saves the session; resume follows the step on and finishes the run',
    async (signal) => {
      const fx = fixture();
      const first = start(fx);
      await waitForLine(first, /dolphin\| line 5$/);
      first.child.kill(signal);
      expect(await first.exited, first.stderr()).toBe(4);
      const id = path.basename(sessionDir(fx));
      expect(first.stderr()).toContain(`nightshift: ${signal}: saving the session and stopping`);
      // What became of the step under way is said before how to go on.
      expect(first.stderr()).toMatch(
        new RegExp(`nightshift: 1\\.2 [^\\n]* goes on on dolphin; resume follows it again\\nnightshift: to go on: [^\\n]+ resume ${id}`),
      );
      expect(journal(fx)).toContainEqual(expect.objectContaining({ type: 'session.paused', reason: `received ${signal}`, stepId: 'slow' }));

      // The pause saved how far the step's log was written; resume goes on from there. The
      // saved part is marked here: a log rebuilt from the start would lose the mark.
      const snapshot = JSON.parse(readFileSync(path.join(sessionDir(fx), 'snapshot.json'), 'utf8')) as {
        outputs?: Record<string, { attempt: number; stdout: number; stderr: number }>;
      };
      const logFile = path.join(sessionDir(fx), 'output', 'slow.1.log');
      const saved = snapshot.outputs?.['slow'];
      expect(saved).toMatchObject({ attempt: 1, stderr: 0 });
      expect(saved!.stdout).toBeGreaterThanOrEqual(Buffer.byteLength('line 1\nline 2\nline 3\nline 4\nline 5\n'));
      expect(readFileSync(logFile).length).toBeGreaterThanOrEqual(saved!.stdout);
      writeFileSync(logFile, readFileSync(logFile, 'utf8').replace(/^line 1$/m, 'LINE 1'));

      const listing = converse(['sessions'], () => undefined, fx.env);
      expect(await listing.exited).toBe(0);
      expect(listing.lines.join('\n')).toMatch(new RegExp(`${id}\\s+resume rehearsal\\s+paused\\s+1\\.2 for i in`));
      // Paused since, in both sites' clocks.
      const pausedAt = new Date(
        journal(fx)
          .filter((entry) => entry.type === 'session.closed')
          .at(-1)!['at'] as string,
      );
      const row = listing.lines.find((line) => line.startsWith(id))!;
      expect(row).toContain(`${clockIn('America/New_York', pausedAt)} Massachusetts office / ${clockIn('Asia/Taipei', pausedAt)} Taipei office`);

      const second = resume(fx);
      const code = await second.exited;
      const text = second.lines.join('\n');
      expect(code, text + second.stderr()).toBe(0);
      expect(second.stderr()).toContain(`resuming session ${id}`);
      // When, by whom and why it stopped, in both sites' clocks.
      expect(second.stderr()).toContain(
        `nightshift: paused ${clockIn('America/New_York', pausedAt)} Massachusetts office / ${clockIn('Asia/Taipei', pausedAt)} Taipei office by nightshift: received ${signal}\n`,
      );
      // Followed on, not started again: the same attempt, every line once, in order.
      expect(text).not.toMatch(/1\.2 .*\(attempt 2\)/);
      const log = readFileSync(logFile, 'utf8');
      const numbered = log.split('\n').filter((line) => /^line /i.test(line));
      expect(numbered).toEqual(['LINE 1', ...Array.from({ length: 29 }, (_, index) => `line ${index + 2}`)]);
      expect(log).toContain('stderr-end');
      const entries = journal(fx);
      expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
      expect(entries.filter((entry) => entry.type === 'session.paused')).toHaveLength(1);
      expect(entries.filter((entry) => entry.type === 'session.resumed')).toHaveLength(1);
      expect(entries.filter((entry) => entry.type === 'step.finished' && entry.stepId === 'slow')).toEqual([
        expect.objectContaining({ status: 'done', exitCode: 0 }),
      ]);
      expect(readFileSync(path.join(fx.dir, 'marks'), 'utf8')).toBe('marked\n');
    },
  );

  it('killed during a detached step whose run folder is then gone (a restart emptied /tmp): resume does not start it again, it asks', async () => {
    const dir = scratch('ns-resume-gone-');
    const runbook = path.join(dir, 'gone.yaml');
    writeFileSync(
      runbook,
      [
        'name: folder gone',
        'hosts:',
        '  dolphin: {}',
        'phases:',
        '  - name: restore',
        '    steps:',
        `      - run: echo started >> ${dir}/starts; for i in $(seq 1 100); do echo line $i; sleep 0.1; done`,
        '        host: dolphin',
        '        id: slow',
        '',
      ].join('\n'),
    );
    const fx = { dir, runbook, env: { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' } };
    const first = start(fx);
    await waitForLine(first, /dolphin\| line 5$/);
    // The snapshot knows the host started it (saved within a second of the host saying so).
    const snapshotFile = path.join(sessionDir(fx), 'snapshot.json');
    const savedStarted = () =>
      (JSON.parse(readFileSync(snapshotFile, 'utf8')) as { outputs?: Record<string, { started?: boolean }> }).outputs?.['slow']?.started === true;
    await waitFor(savedStarted, { what: 'the saved state to record that the host started slow', timeoutMs: 5000, intervalMs: 100 });
    expect(savedStarted()).toBe(true);
    first.child.kill('SIGKILL');
    await first.exited;
    // What a restart does to a run folder in /tmp: the command dies, the folder is gone.
    const folder = path.join(homedir(), '.local/state/nightshift/runs', path.basename(sessionDir(fx)), 'slow.1');
    const pid = Number(readFileSync(path.join(folder, 'pid'), 'utf8'));
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // ended already
    }
    rmSync(folder, { recursive: true, force: true });

    const second = resume(fx, [], (line) => (/Answer reattach \(follow it again\) \| stop/.test(line) ? 'pause' : undefined));
    expect(await second.exited, second.lines.join('\n') + second.stderr()).toBe(4);
    expect(second.stderr()).toMatch(
      /\nnightshift: interrupted \w{3} \d\d:\d\d \S.*: nightshift stopped without pausing \(killed, a crash, or the machine went down\)/,
    );
    expect(second.lines.join('\n')).toMatch(/its run folder is gone from the host .* it is not started again/);
    expect(readFileSync(path.join(dir, 'starts'), 'utf8')).toBe('started\n');
    expect(existsSync(folder)).toBe(false);
  });

  it('paused during a detached step that ends on its host meanwhile: resume collects its result, without running it again', async () => {
    const dir = scratch('ns-resume-');
    const runbook = path.join(dir, 'ends-meanwhile.yaml');
    writeFileSync(
      runbook,
      [
        'name: ends while paused',
        'hosts:',
        '  dolphin: {}',
        'phases:',
        '  - name: sync',
        '    steps:',
        '      - run: for i in $(seq 1 20); do echo line $i; sleep 0.1; done; echo the disk is full >&2; exit 3',
        '        host: dolphin',
        '        id: sync',
        '        on_fail: continue',
        '      - run: echo after',
        '        host: dolphin',
        '        id: after',
        '',
      ].join('\n'),
    );
    const fx = { dir, runbook, env: { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' } };
    const first = start(fx);
    await waitForLine(first, /dolphin\| line 3$/);
    first.child.kill('SIGTERM');
    expect(await first.exited, first.stderr()).toBe(4);
    const id = path.basename(sessionDir(fx));
    // The command goes on on the host while nightshift is away, to its end.
    const exitFile = path.join(homedir(), '.local/state/nightshift/runs', id, 'sync.1', 'exit');
    await waitFor(() => existsSync(exitFile), { what: `${exitFile}: the command to end on its host`, timeoutMs: 20_000, intervalMs: 100 });
    expect(readFileSync(exitFile, 'utf8').trim()).toBe('3');
    expect(journal(fx).filter((entry) => entry.type === 'step.finished' && entry.stepId === 'sync')).toEqual([]);

    const second = resume(fx);
    const code = await second.exited;
    const text = second.lines.join('\n');
    expect(code, text + second.stderr()).toBe(0);
    expect(text).not.toMatch(/\(attempt 2\)/);
    expect(readdirSync(path.join(sessionDir(fx), 'output')).filter((name) => name.startsWith('sync.'))).toEqual(['sync.1.log']);
    const log = readFileSync(path.join(sessionDir(fx), 'output', 'sync.1.log'), 'utf8');
    expect(log.split('\n').filter((line) => line.startsWith('line '))).toEqual(Array.from({ length: 20 }, (_, index) => `line ${index + 1}`));
    expect(log.match(/the disk is full/g)).toHaveLength(1);
    const entries = journal(fx);
    expect(entries.filter((entry) => entry.type === 'step.started' && entry.stepId === 'sync')).toEqual([expect.objectContaining({ attempt: 1 })]);
    expect(entries.filter((entry) => entry.type === 'step.finished' && entry.stepId === 'sync')).toEqual([
      expect.objectContaining({ status: 'failed', exitCode: 3 }),
    ]);
    expect(entries).toContainEqual(expect.objectContaining({ type: 'step.finished', stepId: 'after', status: 'done', exitCode: 0 }));
    // Collected and released: the output left the host; only the marks that keep a late
    // attach from starting it again stay behind.
    expect(readdirSync(path.dirname(exitFile)).sort()).toEqual(['exit', 'started']);
  });

  it('killed after the run finished but before the session was closed: resume closes it, running nothing again', async () => {
    const fx = fixture({ slowLines: 1 });
    const whole = start(fx);
    expect(await whole.exited, whole.lines.join('\n') + whole.stderr()).toBe(0);
    // As if the kill came right after the last change was saved: its entries are in the
    // snapshot, not yet in the journal, and the session was never closed.
    const dir = sessionDir(fx);
    const snapshot = JSON.parse(readFileSync(path.join(dir, 'snapshot.json'), 'utf8')) as { machine: { status: string }; journalEntries: Entry[] };
    expect(snapshot.machine.status).toBe('done');
    expect(snapshot.journalEntries.map((entry) => entry.type)).toContain('run.finished');
    const firstHeld = snapshot.journalEntries[0]!.seq;
    const kept = journal(fx).filter((entry) => entry.seq < firstHeld);
    writeFileSync(path.join(dir, 'journal.jsonl'), kept.map((entry) => `${JSON.stringify(entry)}\n`).join(''));

    const listing = converse(['sessions'], () => undefined, fx.env);
    expect(await listing.exited).toBe(0);
    expect(listing.lines.join('\n')).toMatch(/resume rehearsal\s+interrupted/);
    const second = resume(fx);
    expect(await second.exited, second.lines.join('\n') + second.stderr()).toBe(0);
    expect(second.stderr()).toMatch(/had completed when nightshift stopped; it is closed now/);
    const entries = journal(fx);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
    expect(entries.filter((entry) => entry.stepId === 'last' && entry.type.startsWith('step.')).map((entry) => entry.type)).toEqual([
      'step.started',
      'step.finished',
    ]);
    expect(entries.filter((entry) => entry.type === 'run.finished')).toEqual([expect.objectContaining({ outcome: 'completed' })]);
    expect(entries.at(-1)).toMatchObject({ type: 'session.closed', outcome: 'completed' });
    expect(entries.some((entry) => entry.type === 'session.resumed')).toBe(false);
  });

  it('kill -9 at random moments, resumed each time, ends with the journal of an uninterrupted run', async () => {
    // An interrupted step is run again, so that the journal can match an uninterrupted run's.
    const rerun = (line: string) => (/Answer retry \(run it again\)/.test(line) ? 'retry' : answers(line));
    const reference = fixture({ slowLines: 15 });
    const whole = start(reference, rerun);
    expect(await whole.exited, whole.lines.join('\n') + whole.stderr()).toBe(0);
    const expected = journalStory(sessionDir(reference));

    const fx = fixture({ slowLines: 15 });
    const first = start(fx, rerun);
    const seed = testSeed();
    const { last: run, kills } = await killAndResume(first, () => resume(fx, [], rerun), { rounds: 8, minMs: 50, maxMs: 1300, seed });
    const code = await run.exited;
    const story = `seed ${seed}, kills after ${kills.join(', ')} ms\n${run.lines.join('\n')}\n${run.stderr()}`;
    // A kill that lands after the session closed (the run had finished, the process not yet
    // exited) leaves nothing to resume; the journal must then say it completed (below).
    const finishedBeforeTheKill = code === 1 && /There is no paused or interrupted session/.test(run.stderr());
    if (!finishedBeforeTheKill) expect(code, story).toBe(0);
    expect(kills.length, 'the run ended before any kill: nothing was tested').toBeGreaterThan(0);
    const actual = journalStory(sessionDir(fx));
    expect(actual.events, story).toEqual(expected.events);
    expect(actual.outputs, story).toEqual(expected.outputs);
    // The detached commands were followed again after each kill, never started again.
    for (const stepId of ['first', 'slow', 'last']) expect(actual.attempts[stepId], `${stepId}: ${story}`).toEqual([1]);
    // The step with a check ran exactly once: a local command outlives nightshift's kill and
    // finishes on its own, so after a kill its check saw it done; killed before it started,
    // it ran on the retry.
    expect(readFileSync(path.join(fx.dir, 'marks'), 'utf8'), story).toBe('marked\n');
    const entries = journal(fx);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
  }, 120_000);

  it('a local step in flight at a crash: its check runs first and it is not run again', async () => {
    const fx = fixture({ slowLines: 1 });
    const first = start(fx);
    await waitForLine(first, /> 1\.3 .*locally/);
    // Killed in flight: the saved state has the step running, and the step has done its work.
    await waitFor(() => savedRunning(fx, 'with-check') && existsSync(path.join(fx.dir, 'checked-marker')), {
      what: 'the saved state to have 1.3 running and the step to have written its marker',
    });
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(path.join(fx.dir, 'checked-marker'))).toBe(true);

    const second = resume(fx);
    expect(await second.exited, second.lines.join('\n')).toBe(0);
    expect(second.lines.join('\n')).toMatch(/checked 1\.3 .*: its check says it is already done/);
    expect(readFileSync(path.join(fx.dir, 'marks'), 'utf8')).toBe('marked\n');
  });

  it('a step without a check in flight at a crash is put to the upgrader: marked done with a reason, not re-run', async () => {
    const fx = fixture({ slowLines: 1 });
    const first = start(fx);
    await waitForLine(first, /> 1\.4 .*locally/);
    // The line is printed as the step starts; the saved state follows a moment later, and the
    // command starts only once that state is on disk: a kill in between would leave nothing
    // to outlive it.
    await waitFor(() => savedRunning(fx, 'without-check') && existsSync(path.join(fx.dir, 'unchecked-started')), {
      what: 'the saved state to have 1.4 running and its command to have started',
    });
    first.child.kill('SIGKILL');
    await first.exited;
    // The command outlives the kill: what the upgrader looks at before answering is its mark.
    await waitFor(() => existsSync(path.join(fx.dir, 'unchecked-marks')), { what: 'the interrupted command to finish on its own' });

    const second = resume(fx);
    expect(await second.exited, second.lines.join('\n')).toBe(0);
    const text = second.lines.join('\n');
    expect(text).toMatch(/1\.4 .* was interrupted: nightshift stopped while attempt 1 ran/);
    expect(text).toMatch(/decision on 1\.4 .* mark-done \(looked at the marks file: it ran\)/);
    expect(text).not.toMatch(/> 1\.4 .*\(attempt 2\)/);
    const entries = journal(fx);
    expect(entries).toContainEqual(
      expect.objectContaining({ type: 'decision', stepId: 'without-check', action: 'mark-done', reason: 'looked at the marks file: it ran' }),
    );
  });

  it('a second nightshift on a session in use is refused, naming the holder', async () => {
    const fx = fixture();
    const first = start(fx);
    await waitForLine(first, /dolphin\| line 2$/);
    const id = path.basename(sessionDir(fx));
    // The session is running, so resume finds nothing to resume by default, and refuses it by id.
    const byDefault = resume(fx);
    expect(await byDefault.exited).toBe(1);
    expect(byDefault.stderr()).toMatch(/no paused or interrupted session/);
    const byId = converse(['resume', '--plain', id], () => undefined, fx.env);
    expect(await byId.exited).toBe(1);
    expect(byId.stderr()).toMatch(new RegExp(`session ${id} is running in another nightshift \\(pid ${first.child.pid} on ${hostname()}, since `));
    first.child.kill('SIGKILL');
    await first.exited;
  });

  it('a torn last journal line is reported and left out; a changed runbook is refused unless accepted', async () => {
    const fx = fixture({ slowLines: 40 });
    const first = start(fx);
    await waitForLine(first, /dolphin\| line 3$/);
    first.child.kill('SIGKILL');
    await first.exited;
    appendFileSync(path.join(sessionDir(fx), 'journal.jsonl'), '{"seq":999,"at":"2026-');
    writeFileSync(fx.runbook, readFileSync(fx.runbook, 'utf8').replace('echo last', 'echo the very last'));

    const refused = resume(fx);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(/cut off when nightshift stopped; it is left out/);
    expect(refused.stderr()).toMatch(/changed since the session started:\n\s+~ 1\.6 echo the very last \(last\): (title, command|command, title) changed/);
    expect(refused.stderr()).toMatch(/--accept-runbook-change/);

    const accepted = resume(fx, ['--accept-runbook-change']);
    expect(await accepted.exited, accepted.lines.join('\n') + accepted.stderr()).toBe(0);
    expect(accepted.lines.join('\n')).toMatch(/dolphin\| the very last/);
    const entries = journal(fx);
    expect(entries.some((entry) => entry.seq === 999)).toBe(false);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
    expect(entries).toContainEqual(expect.objectContaining({ type: 'journal.torn' }));
    expect(entries).toContainEqual(expect.objectContaining({ type: 'runbook.changed' }));
  });

  it('an entry of a type this nightshift does not know stops the resume, naming the file, line and type; without it the resume goes on', async () => {
    const fx = fixture({ slowLines: 40 });
    const first = start(fx);
    await waitForLine(first, /dolphin\| line 3$/);
    first.child.kill('SIGKILL');
    await first.exited;
    const file = path.join(sessionDir(fx), 'journal.jsonl');
    const before = readFileSync(file, 'utf8');
    const line = before.trim().split('\n').length + 1;
    appendFileSync(file, `${JSON.stringify({ seq: line, at: new Date().toISOString(), type: 'step.teleported', stepId: 'slow' })}\n`);
    const withUnknown = readFileSync(file, 'utf8');

    const refused = resume(fx);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toContain(`${file}:${line}: an entry of type "step.teleported", which this version of nightshift does not know`);
    expect(refused.stderr()).toMatch(/Resume the session with the version of nightshift that wrote them/);
    // Nothing was written, and the lock is free again.
    expect(readFileSync(file, 'utf8')).toBe(withUnknown);

    writeFileSync(file, before);
    const resumed = resume(fx);
    expect(await resumed.exited, resumed.lines.join('\n') + resumed.stderr()).toBe(0);
  });
});
