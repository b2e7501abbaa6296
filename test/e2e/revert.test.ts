// revert_after, run by the built binary in plain mode against OpenSSH's sshd: the revert is
// armed before the change and disarmed only from a new connection. A relay in front of sshd
// plays a change that breaks new logins (the link already open goes on, as after an
// address change that keeps established sessions): then the timer undoes the change.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientFlags, BIN, converse, freshStateDir, ROOT } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { TmuxSession } from '../support/tmux.js';
import { sleep } from '../support/wait-for.js';
import { scratchFolders } from '../support/scratch-folder.js';
import { onlySessionJournal } from '../support/session-journal.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

describeWithSshd('nightshift run with revert_after', () => {
  let sshd: Sshd;
  let relay: TcpRelay;
  beforeAll(async () => {
    sshd = await Sshd.start();
    relay = await TcpRelay.start(sshd.port);
  });
  let tmux: TmuxSession | undefined;
  afterAll(async () => {
    tmux?.kill();
    await relay?.close();
    await sshd?.stop();
  });

  /** A runbook whose first step makes `change` with the revert `revert`; the host reached through the relay. */
  function runbook(dir: string, change: string, revert: string, after: string) {
    sshd.writeClientFiles(dir, 'dolphin', { port: relay.port });
    writeFileSync(
      path.join(dir, 'revert.yaml'),
      [
        'name: revert',
        'hosts:',
        '  dolphin: {}',
        'phases:',
        '  - name: net',
        '    steps:',
        `      - run: ${JSON.stringify(change)}`,
        '        host: dolphin',
        `        revert_after: ${after}`,
        `        revert: ${JSON.stringify(revert)}`,
        '      - run: echo still here',
        '        host: dolphin',
        '',
      ].join('\n'),
    );
    return ['run', '--plain', path.join(dir, 'revert.yaml'), ...clientFlags(dir)];
  }

  it('disarms from a new connection when the host still takes logins: the revert never runs', async () => {
    const dir = scratch('ns-revert-');
    const marker = path.join(dir, 'reverted');
    const stateDir = freshStateDir();
    const loginsBefore = sshd.log().split('Accepted publickey').length;
    const run = converse(runbook(dir, `echo changed > ${dir}/state`, `touch ${marker}`, '4s'), (line) => (/Answer retry/.test(line) ? 'pause' : undefined), {
      NIGHTSHIFT_STATE_DIR: stateDir,
      SSH_AUTH_SOCK: '',
    });
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(
      /dolphin\| nightshift: revert armed on dolphin with a sleeper \(pid \d+\): unless confirmed from a new connection by \d\d:\d\d:\d\d here \/ \d\d:\d\d:\d\d site \(in [\d.]+s\), it runs: touch /,
    );
    expect(text).toMatch(/dolphin\| nightshift: dolphin answered a new connection: the revert is disarmed and the change stays/);
    expect(text).toMatch(/dolphin\| still here/);
    // Two logins: the check's, which the run goes on with, and one more for the disarm (the
    // new connection).
    expect(sshd.log().split('Accepted publickey').length - loginsBefore).toBe(2);
    await sleep(5000);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(path.join(dir, 'state'), 'utf8')).toBe('changed\n');
    const types = onlySessionJournal(stateDir).map((entry) => entry['type']);
    expect(types).toContain('revert.armed');
    expect(types).toContain('revert.disarmed');
    expect(types).not.toContain('revert.fired');
  }, 30_000);

  it('when the change breaks new logins, the timer reverts it, the step fails and says so, and the journal and report have it', async () => {
    const dir = scratch('ns-revert-');
    const broken = path.join(dir, 'broken');
    const marker = path.join(dir, 'reverted');
    relay.refuseNewWhile(() => existsSync(broken));
    const stateDir = freshStateDir();
    let failure = '';
    const run = converse(
      runbook(dir, `touch ${broken}`, `rm ${broken}; echo undone; touch ${marker}`, '3s'),
      (line, lines) => {
        if (!/Answer retry/.test(line)) return undefined;
        failure = lines.slice(-3).join('\n');
        return 'pause';
      },
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    const code = await run.exited;
    relay.refuseNewWhile(() => false);
    const text = run.lines.join('\n');
    expect(code, text + run.stderr()).toBe(4);
    expect(text).toMatch(/dolphin\| nightshift: new connection 1 to dolphin failed/);
    expect(text).toMatch(/dolphin\| nightshift: the change on dolphin is being reverted by the timer armed before it/);
    expect(text).toMatch(/dolphin\| revert\| undone/);
    expect(failure).toMatch(
      /FAILED 1\.1 .*: the change on dolphin was reverted by the timer armed before it: no new connection reached dolphin before the deadline .*The revert ran at .* and exited 0; dolphin answers again/,
    );
    expect(existsSync(marker)).toBe(true);
    expect(existsSync(broken)).toBe(false);
    expect(text).not.toMatch(/still here/);

    const journal = onlySessionJournal(stateDir);
    expect(journal.map((entry) => entry['type'])).toEqual(expect.arrayContaining(['revert.armed', 'revert.unconfirmed', 'revert.fired']));
    expect(journal.find((entry) => entry['type'] === 'revert.fired')).toMatchObject({ stepId: 'net-1', attempt: 1, host: 'dolphin', exitCode: 0 });

    const out = path.join(dir, 'report.html');
    const report = spawnSync(process.execPath, [BIN, 'report', '--output', out], {
      cwd: ROOT,
      env: { ...process.env, NIGHTSHIFT_STATE_DIR: stateDir },
      encoding: 'utf8',
    });
    expect(report.status, report.stderr).toBe(0);
    const markdown = readFileSync(out.replace(/\.html$/, '.md'), 'utf8');
    expect(markdown).toMatch(/Revert: revert armed on dolphin \(sleeper \d+\) to fire after 3 s unless confirmed from a new connection/);
    expect(markdown).toContain('Revert: the revert ran on dolphin and exited 0');
    expect(readFileSync(out, 'utf8')).toContain('Revert: the revert ran on dolphin and exited 0');
  }, 60_000);

  it('shows the countdown full-screen while the change runs; once confirmed, nothing is reverted', async () => {
    const dir = scratch('ns-revert-');
    const args = runbook(dir, 'sleep 6; echo changed', `touch ${dir}/reverted`, '1m').filter((arg) => arg !== '--plain');
    tmux = TmuxSession.start([process.execPath, BIN, ...args, '--no-helpers'], {
      cwd: ROOT,
      env: { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
    });
    const counting = await tmux.waitFor(/revert in \d+s unless confirmed from a new connection to dolphin/, 20_000, 'the countdown');
    const first = Number(/revert in (\d+)s/.exec(counting)![1]);
    expect(first).toBeLessThanOrEqual(60);
    // It ticks by itself, with no output to redraw for.
    const later = await tmux.waitFor(
      (screen) => {
        const match = /revert in (\d+)s/.exec(screen);
        return match !== null && Number(match[1]) <= first - 2;
      },
      10_000,
      'the countdown to go down',
    );
    expect(later).toMatch(/revert in \d+s/);
    await tmux.waitFor(/The run completed/, 30_000, 'the end of the run');
    tmux.keys('q');
    expect(await tmux.waitForExit(10_000)).toBe(0);
    expect(existsSync(path.join(dir, 'reverted'))).toBe(false);
  }, 60_000);
});
