// Going again, run by the built binary against the real sshd: a run that falls back in its
// second phase, the condition fixed, then `nightshift again --from` that phase: the first
// phase counts as done by the first session, a step whose check passes is marked done
// without running (its counter on the host does not move), the rest runs, and both
// reports link each other. Also `run --from`, `skip_done` on a fresh run, and phase names
// that do not exist or carry terminal controls.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { converse, freshStateDir, type Conversation } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

describeWithSshd('going again (run --from, again, skip_done)', () => {
  let sshd: Sshd;
  let dir: string;
  let work: string;
  let stateDir: string;
  const children: Conversation[] = [];

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-again-'));
    writeFileSync(path.join(dir, 'ssh_config'), sshd.clientConfig('target'));
    writeFileSync(path.join(dir, 'known_hosts'), `${sshd.knownHostsLine()}\n`);
  });
  beforeEach(() => {
    work = mkdtempSync(path.join(dir, 'work-'));
    stateDir = freshStateDir();
  });
  afterAll(async () => {
    for (const child of children) child.child.kill('SIGKILL');
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const flags = () => ['--plain', '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', path.join(dir, 'known_hosts')];
  const nightshift = (args: string[]): Conversation => {
    const run = converse(args, () => undefined, { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' });
    children.push(run);
    return run;
  };
  const finished = async (run: Conversation) => ({ code: await run.closed, out: run.lines.join('\n'), err: run.stderr() });
  const count = (name: string) => (existsSync(path.join(work, name)) ? readFileSync(path.join(work, name), 'utf8').split('\n').filter(Boolean).length : 0);
  const sessions = () => readdirSync(path.join(stateDir, 'sessions')).sort();
  // Two sessions started in the same second sort by their random suffix, not by age.
  const sessionOtherThan = (old: string | undefined) => sessions().find((id) => id !== old)!;

  /** A swap whose verification fails until the route is fixed (the file `route-fixed`), and falls back. */
  const swapRunbook = () => {
    const file = path.join(work, 'swap.yaml');
    writeFileSync(
      file,
      `name: gateway swap
hosts:
  target: {}
phases:
  - name: prepare
    steps:
      - run: echo prepared >> ${work}/prepare.count
        host: target
        id: prep
  - name: swap
    steps:
      - run: echo moved >> ${work}/move.count && echo 10.0.0.1/24 > ${work}/address
        host: target
        id: move
        check: cat ${work}/address
      - run: test -f ${work}/route-fixed
        host: target
        id: verify
        on_fail: fallback
  - name: finish
    steps:
      - run: echo finished >> ${work}/finish.count
        host: target
        id: finish
fallback:
  - run: echo swung back >> ${work}/fallback.count
    host: target
    id: back
`,
    );
    return file;
  };

  const report = async (id: string) => {
    const run = nightshift(['report', id]);
    const { code, out } = await finished(run);
    expect(code).toBe(0);
    return readFileSync(out.split('\n').find((line) => line.endsWith('.md'))!, 'utf8');
  };

  it('falls back, then goes again from the failed phase: done steps are not redone, the rest runs, both reports link', async () => {
    const file = swapRunbook();
    const first = await finished(nightshift(['run', file, ...flags()]));
    expect(first.code, first.out + first.err).toBe(3);
    expect([count('prepare.count'), count('move.count'), count('fallback.count'), count('finish.count')]).toEqual([1, 1, 1, 0]);
    const [old] = sessions();

    // Fixed on site: the route is right now.
    writeFileSync(path.join(work, 'route-fixed'), '');
    const again = await finished(nightshift(['again', '--from', 'swap', ...flags()]));
    expect(again.code, again.out + again.err).toBe(0);
    expect(again.err).toContain(`starting at phase swap, going again from session ${old}`);
    expect(again.out).toMatch(/ok 2\.1 .* already done \(check passed\): not run/);
    expect(again.out).toContain('  | 10.0.0.1/24');
    // On the host: the first phase and the step found done did not run again; the rest did.
    expect([count('prepare.count'), count('move.count'), count('fallback.count'), count('finish.count')]).toEqual([1, 1, 1, 1]);
    const ids = sessions();
    expect(ids).toHaveLength(2);
    const newer = sessionOtherThan(old);

    const listed = await finished(nightshift(['sessions', '--all']));
    expect(listed.out).toMatch(new RegExp(`${newer} .*completed, again from ${old}`));

    const newReport = await report(newer);
    expect(newReport).toContain(`Goes again from phase swap of session ${old}`);
    expect(newReport).toMatch(new RegExp(`### 1\\.1 [^\\n]*\\n\\n[^\\n]*\\n\\n\`\`\`sh\\n[^\\n]*\\n\`\`\`\\n\\nDone by session ${old}\\.`));
    expect(newReport).toContain('Already done (check passed): not run.');
    expect(newReport).toContain('10.0.0.1/24');
    const oldReport = await report(old!);
    expect(oldReport).toContain(`Gone again in session ${newer}`);

    // The old session's folder was not written to by the new one.
    const journal = readFileSync(path.join(stateDir, 'sessions', old!, 'journal.jsonl'), 'utf8');
    expect(journal).not.toContain(newer);
  }, 120_000);

  it('again goes from where the fallback started by default; a paused session is refused with the advice to resume', async () => {
    const file = swapRunbook();
    expect((await finished(nightshift(['run', file, ...flags()]))).code).toBe(3);
    const [old] = sessions();
    writeFileSync(path.join(work, 'route-fixed'), '');
    // The runbook fixed too: said, and gone on with.
    writeFileSync(file, readFileSync(file, 'utf8').replace('name: gateway swap', 'name: gateway swap\ndescription: the route fixed'));
    const again = await finished(nightshift(['again', ...flags()]));
    expect(again.code, again.out + again.err).toBe(0);
    expect(again.err).toMatch(
      new RegExp(`nightshift again: .*swap\\.yaml changed since session ${old} started \\(sha256 \\w{12} → \\w{12}\\); going on with it as it is now`),
    );
    expect(again.err).toContain('starting at phase swap');
    expect(count('move.count')).toBe(1);

    // A run paused at its first question is not gone again from.
    const paused = path.join(work, 'paused.yaml');
    writeFileSync(paused, readFileSync(file, 'utf8').replace('id: prep', 'id: prep\n      - checkpoint: ready?\n        id: ready'));
    const pausing = converse(['run', paused, ...flags()], (line) => (/Type yes to confirm/.test(line) ? 'pause' : undefined), {
      NIGHTSHIFT_STATE_DIR: stateDir,
      SSH_AUTH_SOCK: '',
    });
    children.push(pausing);
    expect(await pausing.closed).toBe(4);
    const refused = await finished(nightshift(['again', ...flags()]));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/nightshift again: the session \S+ is paused.*: it has not ended\.\nGo on with it: .+ resume \S+/);
  }, 120_000);

  it('run --from links to the latest session of the runbook, or to none: then the steps before are shown as not run', async () => {
    const file = swapRunbook();
    writeFileSync(path.join(work, 'route-fixed'), '');
    const alone = await finished(nightshift(['run', file, '--from', 'swap', ...flags()]));
    expect(alone.code, alone.out + alone.err).toBe(0);
    expect(alone.err).toContain('no earlier session of this runbook is known');
    expect([count('prepare.count'), count('move.count'), count('finish.count')]).toEqual([0, 1, 1]);
    const [first] = sessions();
    expect(await report(first!)).toContain('Not run: the run started at phase swap.');

    const linked = await finished(nightshift(['run', file, '--from', 'finish', ...flags()]));
    expect(linked.code, linked.out + linked.err).toBe(0);
    expect(linked.err).toContain(`starting at phase finish, going again from session ${first}`);
    expect([count('prepare.count'), count('move.count'), count('finish.count')]).toEqual([0, 1, 2]);
  }, 120_000);

  it('a session that goes again, paused and resumed, goes on as it started: the steps before stay done by the old session', async () => {
    const file = swapRunbook();
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('        id: finish\n', '        id: finish\n      - checkpoint: the provider answers?\n        id: answers\n'),
    );
    expect((await finished(nightshift(['run', file, ...flags()]))).code).toBe(3);
    const [old] = sessions();
    writeFileSync(path.join(work, 'route-fixed'), '');
    const env = { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' };
    const pausing = converse(['again', ...flags()], (line) => (/Type yes to confirm/.test(line) ? 'pause' : undefined), env);
    children.push(pausing);
    expect(await pausing.closed, pausing.lines.join('\n') + pausing.stderr()).toBe(4);
    const resuming = converse(['resume', ...flags()], (line) => (/Type yes to confirm/.test(line) ? 'yes' : undefined), env);
    children.push(resuming);
    expect(await resuming.closed, resuming.lines.join('\n') + resuming.stderr()).toBe(0);
    expect([count('prepare.count'), count('move.count'), count('finish.count')]).toEqual([1, 1, 1]);
    const newer = sessionOtherThan(old);
    const newReport = await report(newer);
    expect(newReport).toContain(`Goes again from phase swap of session ${old}`);
    expect(newReport).toContain(`Done by session ${old}.`);
    expect(newReport).toContain('Already done (check passed): not run.');
  }, 120_000);

  it('skip_done on a fresh run: a step whose check passes is not run', async () => {
    const file = path.join(work, 'skip.yaml');
    writeFileSync(path.join(work, 'installed'), 'version 2\n');
    writeFileSync(
      file,
      `name: skip done
skip_done: true
hosts:
  target: {}
phases:
  - name: install
    steps:
      - run: echo installed >> ${work}/install.count
        host: target
        check: cat ${work}/installed
      - run: echo configured >> ${work}/configure.count
        host: target
        check: test -f ${work}/configured
`,
    );
    const run = await finished(nightshift(['run', file, ...flags()]));
    expect(run.code, run.out + run.err).toBe(0);
    expect(run.out).toMatch(/ok 1\.1 .* already done \(check passed\): not run/);
    expect(run.out).toContain('  | version 2');
    expect([count('install.count'), count('configure.count')]).toEqual([0, 1]);
  }, 60_000);

  it('refuses a phase that does not exist, naming the phases, with terminal controls shown rather than run', async () => {
    const file = swapRunbook();
    const unknown = await finished(nightshift(['run', file, '--from', 'swapp', ...flags()]));
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--from: the runbook has no phase "swapp"; its phases: prepare, swap, finish');
    const hostile = await finished(nightshift(['run', file, '--from', 'swap\u001b[2J\u001b]0;owned\u0007', ...flags()]));
    expect(hostile.code).toBe(2);
    expect(hostile.err).not.toMatch(/[\u001b\u0007]/);
    expect(hostile.err).toContain('its phases: prepare, swap, finish');
    // Nothing ran, and no session was made.
    expect(count('prepare.count')).toBe(0);
    expect(existsSync(path.join(stateDir, 'sessions')) ? sessions() : []).toEqual([]);
    const again = await finished(nightshift(['again', '--from', 'nope', ...flags()]));
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/There is no session/);
  }, 60_000);
});
