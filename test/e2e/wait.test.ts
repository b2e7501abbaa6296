// The wait step, run by the built binary against the real sshd: each kind waits while its
// condition does not hold, goes on once it does (and not before), and past its bound fails
// with a message that names what it waited for, followed by the failure decision.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { converse, freshStateDir, waitForLine, type Conversation } from '../support/cli.js';
import { describeWithSshd, freePort, Sshd } from '../support/sshd.js';

const env = () => ({ NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' });

describeWithSshd('nightshift run with wait steps', () => {
  let sshd: Sshd;
  let dir: string;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-wait-'));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  /** Runs a runbook of `steps` (YAML lines of its one phase) on host target, served by `server`. */
  function runSteps(name: string, steps: string[], server = sshd, answer: (line: string) => string | undefined = () => undefined): Conversation {
    const config = path.join(dir, `${name}.ssh_config`);
    writeFileSync(config, server.clientConfig('target'));
    const knownHosts = path.join(dir, `${name}.known_hosts`);
    writeFileSync(knownHosts, `${server.knownHostsLine()}\n`);
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      ['name: wait', 'hosts:', '  target: {}', 'phases:', '  - name: waiting', '    steps:', ...steps.map((line) => `      ${line}`), ''].join('\n'),
    );
    const run = converse(
      ['run', '--plain', file, '--ssh-config', config, '--known-hosts', knownHosts],
      (line) => answer(line) ?? (/Answer retry/.test(line) ? 'pause' : undefined),
      env(),
    );
    cleanups.push(() => {
      run.child.kill('SIGKILL');
    });
    return run;
  }

  /** Index of the first line matching `pattern`, -1 when none does. */
  const lineOf = (run: Conversation, pattern: RegExp) => run.lines.findIndex((line) => pattern.test(line));

  it('a port that opens after a while: the wait goes on once it is open, not before', async () => {
    const port = await freePort();
    const run = runSteps('port', [
      `- wait: port`,
      `  port: ${port}`,
      '  host: target',
      '  every: 300ms',
      '  timeout: 1m',
      '- run: echo after the wait',
      '  host: target',
    ]);
    await waitForLine(run, /target\| nightshift: attempt 3: not yet/, 30_000);
    expect(run.lines.join('\n')).not.toMatch(/is ready/);
    const server: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const openedAtLine = run.lines.length;
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const ready = lineOf(run, /target\| nightshift: target is ready \(attempt (\d+)\)/);
    expect(ready).toBeGreaterThanOrEqual(openedAtLine);
    expect(Number(/attempt (\d+)/.exec(run.lines[ready]!)![1])).toBeGreaterThan(3);
    expect(lineOf(run, /ok 1\.1 wait until port \d+ is open on target done/)).toBeGreaterThan(ready);
    expect(lineOf(run, /target\| after the wait/)).toBeGreaterThan(ready);
  }, 90_000);

  it('SSH that stopped taking logins: the wait goes on once sshd is back, not over the link still open', async () => {
    // A second sshd for this test alone: its listener is stopped and started again.
    const own = await Sshd.start();
    cleanups.push(() => own.stop());
    const run = runSteps(
      'ssh',
      [
        '- run: echo logged in',
        '  host: target',
        '- checkpoint: sshd restarted',
        '- wait: ssh',
        '  host: target',
        '  every: 300ms',
        '  timeout: 1m',
        '- run: echo after the wait',
        '  host: target',
      ],
      own,
    );
    await waitForLine(run, /Type yes to confirm/);
    await own.stopListener();
    run.child.stdin.write('yes\n');
    await waitForLine(run, /target\| nightshift: attempt 3: /, 30_000);
    expect(run.lines.join('\n')).not.toMatch(/is ready/);
    await own.restart();
    const backAtLine = run.lines.length;
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(/target\| nightshift: attempt 1: .*(ECONNREFUSED|refused)/);
    const ready = lineOf(run, /target\| nightshift: target is ready \(attempt (\d+)\)/);
    expect(ready).toBeGreaterThanOrEqual(backAtLine);
    expect(lineOf(run, /target\| after the wait/)).toBeGreaterThan(ready);
  }, 90_000);

  it('a command that starts succeeding after a while: the wait goes on once it does', async () => {
    const flag = path.join(dir, 'flag');
    const run = runSteps('command', [
      '- wait: command',
      `  command: test -e ${flag} && echo found it`,
      '  host: target',
      '  every: 300ms',
      '  timeout: 1m',
      '- run: echo after the wait',
      '  host: target',
    ]);
    await waitForLine(run, /target\| nightshift: attempt 3: not yet/, 30_000);
    expect(run.lines.join('\n')).not.toMatch(/is ready|target\| found it/);
    writeFileSync(flag, '');
    const createdAtLine = run.lines.length;
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const found = lineOf(run, /target\| found it/);
    const ready = lineOf(run, /target\| nightshift: target is ready \(attempt \d+\)/);
    expect(found).toBeGreaterThanOrEqual(createdAtLine);
    expect(ready).toBeGreaterThan(found);
    expect(lineOf(run, /target\| after the wait/)).toBeGreaterThan(ready);
  }, 90_000);

  /** Runs a wait that never comes true with a 3 s bound; returns the run after it was paused at the decision. */
  async function boundedWait(name: string, steps: string[], server = sshd) {
    const started = Date.now();
    const run = runSteps(name, [...steps, '  host: target', '  every: 500ms', '  timeout: 3s', '- run: echo never', '  host: target'], server);
    const code = await run.exited;
    return { run, code, text: run.lines.join('\n'), seconds: (Date.now() - started) / 1000 };
  }

  it('a port that stays closed: past its bound the step fails naming the port, and the decision is asked', async () => {
    const port = await freePort();
    const { code, text, seconds } = await boundedWait('port-bound', ['- wait: port', `  port: ${port}`]);
    expect(code, text).toBe(4);
    expect(text).toMatch(/target\| nightshift: attempt 2: not yet/);
    expect(text).toMatch(new RegExp(`FAILED 1\\.1 .* after 3\\.\\ds: port ${port} on target was not open within 3\\.0s`));
    expect(text).toMatch(new RegExp(`1\\.1 .* failed: port ${port} on target was not open within 3\\.0s\\n  Answer retry \\| skip REASON`));
    expect(text).not.toMatch(/never/);
    expect(seconds).toBeLessThan(30);
  }, 60_000);

  it('SSH that never answers: past its bound the step fails naming SSH, and the decision is asked', async () => {
    const own = await Sshd.start();
    cleanups.push(() => own.stop());
    await own.stopListener();
    const { code, text } = await boundedWait('ssh-bound', ['- wait: ssh'], own);
    expect(code, text).toBe(4);
    expect(text).toMatch(/target\| nightshift: attempt 2: .*(ECONNREFUSED|refused)/);
    expect(text).toMatch(/FAILED 1\.1 .* after 3\.\ds: SSH on target did not answer within 3\.0s/);
    expect(text).toMatch(/1\.1 .* failed: SSH on target did not answer within 3\.0s\n  Answer retry \| skip REASON/);
    expect(text).not.toMatch(/never/);
  }, 60_000);

  it('a command that keeps failing: past its bound the step fails naming the command, and the decision is asked', async () => {
    const { code, text } = await boundedWait('command-bound', ['- wait: command', '  command: test -e /nonexistent/flag']);
    expect(code, text).toBe(4);
    expect(text).toMatch(/target\| nightshift: attempt 2: not yet/);
    expect(text).toMatch(/FAILED 1\.1 .* after 3\.\ds: `test -e \/nonexistent\/flag` did not succeed on target within 3\.0s/);
    expect(text).toMatch(/1\.1 .* failed: `test -e \/nonexistent\/flag` did not succeed on target within 3\.0s\n  Answer retry \| skip REASON/);
    expect(text).not.toMatch(/never/);
  }, 60_000);
});
