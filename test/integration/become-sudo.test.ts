// `become: sudo` against a real sshd and the real sudo: non-root users that exist only in
// sshd's mount namespace, with NOPASSWD, with a password, with `Defaults requiretty`, and
// without a rule. Commands, checks and detached runs must run as root; a refused password
// is asked again; and the password must be found nowhere: not in what nightshift printed,
// not under its HOME, not on the host.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HostPool } from '../../src/remote/host-pool.js';
import { parseRunbook } from '../../src/runbook/load.js';
import type { GuardStep, RunStep } from '../../src/runbook/types.js';
import { StepOutput } from '../../src/output/step-output.js';
import { GuardKeeper, runGuardStep } from '../../src/runner/guard.js';
import { hostsBecoming } from '../../src/runner/become-hosts.js';
import type { ExecHandlers, ExecResult, RemoteInteraction } from '../../src/remote/types.js';
import { makeHome, poolFor, removeHome, scriptedInteraction } from '../support/ssh-pool.js';
import { runStepWithRevert } from '../support/revert-step.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { withSshd } from '../support/with-sshd.js';

// Quotes, $, ;, a backslash, a space, a glob and non-ASCII: each must reach sudo as it is.
const PASSWORD = `p'a"s$HOME;s \\w*rd-ünï-${process.pid}`;
const WRONG = `wrong-${process.pid}-guess`;
/** Run folders are found again by their id: each test run has ids of its own. */
const RUN = `${process.pid}-${Date.now()}`;

interface Asked {
  host: string;
  user: string;
  retry: boolean;
}

/** Hands out `answers` in order (then null), recording each question; `typingMs`: how long each answer takes. */
function sudoHuman(answers: Array<string | null>, typingMs = 0): RemoteInteraction & { asked: Asked[] } {
  const queue = [...answers];
  const asked: Asked[] = [];
  return {
    ...scriptedInteraction(),
    asked,
    async askSudoPassword(host, user, retry) {
      asked.push({ host, user, retry });
      if (typingMs > 0) await new Promise((resolve) => setTimeout(resolve, typingMs));
      return queue.length > 0 ? (queue.shift() ?? null) : null;
    },
  };
}

interface Captured {
  stdout: string;
  stderr: string;
  notices: string[];
  exitCode: number | null;
}

/** What `start` runs as root through sudo, captured; its output and notices also go to `all`. */
async function capturedAsRoot(all: string[], start: (handlers: ExecHandlers) => Promise<ExecResult>): Promise<Captured> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const notices: string[] = [];
  const result = await start({
    onStdout: (chunk) => stdout.push(chunk),
    onStderr: (chunk) => stderr.push(chunk),
    onNotice: (text) => notices.push(text),
    become: 'sudo',
  });
  const captured = { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), notices, exitCode: result.exitCode };
  all.push(captured.stdout, captured.stderr, ...notices);
  return captured;
}

function runAsRoot(pool: HostPool, command: string, all: string[]): Promise<Captured> {
  return capturedAsRoot(all, (handlers) => pool.exec('dragon', command, handlers));
}

function runDetachedAsRoot(pool: HostPool, command: string, runId: string, all: string[]): Promise<Captured> {
  return capturedAsRoot(all, (handlers) => pool.runDetached('dragon', command, { runId, ...handlers }));
}

describeWithSshd('become: sudo on a host that forbids root logins', () => {
  const host = withSshd({
    privateVarTmp: true,
    sudoUsers: [
      { name: 'nsnopw', nopasswd: true },
      { name: 'nspw', password: PASSWORD },
      { name: 'nstty', password: PASSWORD, requiretty: true },
      { name: 'nsnorule', password: PASSWORD, noRule: true },
      { name: 'nsttypty', password: PASSWORD, requiretty: true, usePty: true },
      { name: 'nsslow', password: PASSWORD, passwordTimeoutMinutes: 0.05 },
      { name: 'nstcsh', password: PASSWORD, shell: '/bin/tcsh' },
      { name: 'nskeephome', nopasswd: true, keepHome: true },
      { name: 'nstcshtty', password: PASSWORD, shell: '/bin/tcsh', requiretty: true },
    ],
  });
  let relay: TcpRelay;
  let breakLogins = false;
  const homes: string[] = [];
  const pools: HostPool[] = [];
  /** Everything nightshift handed the test: output, stderr, notices, error messages. */
  const seen: string[] = [];
  const scratch = mkdtempSync(path.join(tmpdir(), 'ns-become-'));

  beforeAll(async () => {
    relay = await TcpRelay.start(host.sshd.port);
    relay.refuseNewWhile(() => breakLogins);
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
    await relay?.close();
    // Root's run folders of this test run (they were never released: nothing recorded them).
    spawnSync('sh', ['-c', `rm -rf /root/.local/state/nightshift/runs/*-${RUN}*`]);
    for (const home of homes) removeHome(home);
    rmSync(scratch, { recursive: true, force: true });
  });

  function poolAs(user: string, interaction: RemoteInteraction, becomePty?: boolean): HostPool {
    const home = makeHome();
    homes.push(home);
    const pool = poolFor(host.sshd, { home, interaction, spec: { user, port: relay.port, ...(becomePty ? { becomePty } : {}) } });
    pools.push(pool);
    return pool;
  }

  it('NOPASSWD: a command, a check and a detached run as root, and nothing is asked', async () => {
    const human = sudoHuman([]);
    const pool = poolAs('nsnopw', human);
    const plain = await runAsRoot(pool, 'id -u; echo to-stderr >&2', seen);
    expect(plain).toMatchObject({ stdout: '0\n', stderr: 'to-stderr\n', exitCode: 0 });
    // Without become the same login is the user's.
    const stdout: Buffer[] = [];
    await pool.exec('dragon', 'id -u', { onStdout: (chunk) => stdout.push(chunk), onStderr: () => {} });
    expect(Buffer.concat(stdout).toString()).toBe('46100\n');
    const check = await runAsRoot(pool, 'test -w /etc/shadow', seen);
    expect(check.exitCode).toBe(0);
    const failing = await runAsRoot(pool, 'exit 7', seen);
    expect(failing.exitCode).toBe(7);
    const detached = await runDetachedAsRoot(pool, 'id -u; id -un >&2; exit 3', `become-nopw-${RUN}/step.1`, seen);
    expect(detached).toMatchObject({ stdout: '0\n', stderr: 'root\n', exitCode: 3 });
    expect(human.asked).toEqual([]);
  });

  it("a shell kept ready before a command through sudo is not the next command's: what ran as root may change what a login gets", async () => {
    const pool = poolAs('nsnopw', sudoHuman([]));
    // How long ago the shell running it started, in seconds.
    const shellAge = `s=$(cut -d' ' -f22 /proc/$$/stat); awk -v s="$s" '{ printf "%.2f\\n", $1 - s / 100 }' /proc/uptime`;
    const asUser = async (command: string) => {
      const stdout: Buffer[] = [];
      await pool.exec('dragon', command, { onStdout: (chunk) => stdout.push(chunk), onStderr: () => {} });
      return Buffer.concat(stdout).toString();
    };
    const pause = () => new Promise((resolve) => setTimeout(resolve, 1500));
    await asUser('true');
    await pause();
    // The shell the command before kept ready, started 1.5 s before this command.
    expect(Number(await asUser(shellAge))).toBeGreaterThanOrEqual(1.4);
    await pause();
    expect((await runAsRoot(pool, 'id -u', seen)).stdout).toBe('0\n');
    // Not the shell kept ready during the pause: a new one.
    expect(Number(await asUser(shellAge))).toBeLessThan(1);
  });

  it('a password: asked once for the host, then reused for every command, detached runs and after a reconnect', async () => {
    const human = sudoHuman([PASSWORD]);
    const pool = poolAs('nspw', human);
    expect((await runAsRoot(pool, 'id -u', seen)).stdout).toBe('0\n');
    expect((await runAsRoot(pool, 'cat /etc/shadow >/dev/null && echo read', seen)).stdout).toBe('read\n');
    const detached = await runDetachedAsRoot(pool, 'printf "%s\\n" "$(id -u)"; sleep 1', `become-pw-${RUN}/step.1`, seen);
    expect(detached).toMatchObject({ stdout: '0\n', exitCode: 0 });
    // The script reaches the command whole: the password line was sudo's alone.
    const script = 'read -r line || echo "stdin is at its end"\necho "$((6 * 7))"';
    expect((await runAsRoot(pool, script, seen)).stdout).toBe('stdin is at its end\n42\n');
    await pool.disconnect('dragon');
    expect((await runAsRoot(pool, 'id -u', seen)).stdout).toBe('0\n');
    expect(human.asked).toEqual([{ host: 'dragon', user: 'nspw', retry: false }]);
  });

  it.each([
    ['nspw', 0],
    ['nstty', 1],
  ])("cancelling a command of root's stops it on the host, through sudo (%s)", async (user, offset) => {
    const pool = poolAs(user, sudoHuman([PASSWORD]));
    const marker = 3000 + (process.pid % 997) * 2 + offset;
    const controller = new AbortController();
    const running = pool.exec('dragon', `sleep ${marker}; echo not-stopped`, {
      onStdout: (chunk) => seen.push(chunk.toString()),
      onStderr: (chunk) => seen.push(chunk.toString()),
      become: 'sudo',
      signal: controller.signal,
    });
    const alive = () => spawnSync('pgrep', ['-u', '0', '-x', '-f', `sleep ${marker}`], { encoding: 'utf8' }).stdout.trim();
    await waitFor(() => alive() !== '', { what: `root's sleep ${marker} to run`, timeoutMs: 5000, intervalMs: 100 });
    expect(alive()).not.toBe('');
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    await waitFor(() => alive() === '', { what: `root's sleep ${marker} to be stopped`, timeoutMs: 5000, intervalMs: 100 });
    expect(alive()).toBe('');
    // A pty's relay is stopped too, and takes its fifos with it.
    const fifos = () => host.sshd.inNamespace('ls -d /tmp/nightshift-pty.* 2>/dev/null; true');
    await waitFor(() => fifos() === '', { what: "the pty relay's fifos to be removed", timeoutMs: 5000, intervalMs: 100 });
    expect(fifos()).toBe('');
  });

  it('a wrong password: sudo refuses it, nothing runs, and the upgrader is asked again', async () => {
    const human = sudoHuman([WRONG, PASSWORD]);
    const pool = poolAs('nspw', human);
    const marker = `/tmp/ns-become-ran-${process.pid}`;
    const result = await runAsRoot(pool, `echo once >> ${marker}; id -u`, seen);
    // sudo's "Sorry, try again." belongs to no output.
    expect(result).toMatchObject({ stdout: '0\n', stderr: '' });
    expect(result.notices.join('\n')).toContain('sudo on dragon refused the password for nspw; asking again');
    expect(human.asked).toEqual([
      { host: 'dragon', user: 'nspw', retry: false },
      { host: 'dragon', user: 'nspw', retry: true },
    ]);
    expect(host.sshd.inNamespace(`cat ${marker}; rm -f ${marker}`)).toBe('once\n');
  });

  it('three wrong passwords fail the command, naming the host and the user; none given fails it too', async () => {
    const pool = poolAs('nspw', sudoHuman([WRONG, WRONG, WRONG]));
    const error = await runAsRoot(pool, 'id -u', seen).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/sudo on dragon refused the password for nspw 3 times; nothing ran/);
    seen.push((error as Error).message);
    const none = await runAsRoot(poolAs('nspw', sudoHuman([null])), 'id -u', seen).catch((caught: Error) => caught);
    expect((none as Error).message).toMatch(/No sudo password for nspw on dragon was given/);
  });

  it('requiretty: the refusal is noticed and the command goes again in a pty, as root, with a password', async () => {
    const human = sudoHuman([PASSWORD]);
    const pool = poolAs('nstty', human);
    const first = await runAsRoot(pool, 'id -u; id -un >&2', seen);
    expect(first).toMatchObject({ stdout: '0\n', stderr: 'root\n' });
    expect(first.notices.join('\n')).toMatch(/requires a terminal \(Defaults requiretty\)/);
    // A long script with bytes a terminal would take as keys: ^C, ^D, ^S, CR, and a line over 4096 bytes.
    const long = 'x'.repeat(6000);
    const script = `a='${long}'\nprintf '%s\\n' "\${#a}"\nprintf 'ctl:\x03\x04\x13\r:end\\n' | od -An -c | tr -s ' '\nid -u`;
    const tricky = await runAsRoot(pool, script, seen);
    expect(tricky.stdout).toBe('6000\n c t l : 003 004 023 \\r : e n d \\n\n0\n');
    const detached = await runDetachedAsRoot(pool, 'id -u; echo err >&2; exit 4', `become-tty-${RUN}/step.1`, seen);
    expect(detached).toMatchObject({ stdout: '0\n', stderr: 'err\n', exitCode: 4 });
    // The relay's fifos are gone once each command ended.
    expect(host.sshd.inNamespace('ls -d /tmp/nightshift-pty.* 2>/dev/null; echo listed')).toBe('listed\n');
    expect(human.asked).toHaveLength(1);
  });

  it.each(['nstty', 'nsttypty'])('become_pty: true goes to a pty from the start, with a wrong password first (%s)', async (user) => {
    const human = sudoHuman([WRONG, PASSWORD]);
    const pool = poolAs(user, human, true);
    const result = await runAsRoot(pool, 'id -u; id -un >&2', seen);
    expect(result).toMatchObject({ stdout: '0\n', stderr: 'root\n', exitCode: 0 });
    expect(result.notices.join('\n')).not.toMatch(/requiretty/);
    expect(human.asked.map((question) => question.retry)).toEqual([false, true]);
  });

  it('commands started together on a fresh host ask for the password once', async () => {
    const human = sudoHuman([PASSWORD]);
    const pool = poolAs('nspw', human);
    const results = await Promise.all([1, 2, 3].map((n) => runAsRoot(pool, `echo ${n} $(id -u)`, seen)));
    expect(results.map((result) => result.stdout)).toEqual(['1 0\n', '2 0\n', '3 0\n']);
    expect(human.asked).toHaveLength(1);
  });

  it('a host without sudo: a clear refusal naming the host and the user', async () => {
    const bare = await Sshd.start({ sudoUsers: [{ name: 'nsnosudo', nopasswd: true }], env: { PATH: '/nonexistent' } });
    try {
      const home = makeHome();
      homes.push(home);
      const pool = poolFor(bare, { home, interaction: sudoHuman([]), spec: { user: 'nsnosudo' } });
      pools.push(pool);
      const error = await runAsRoot(pool, 'id -u', seen).catch((caught: Error) => caught);
      expect((error as Error).message).toMatch(/^sudo is not installed on dragon, or not on the PATH of nsnosudo there .*apt-get install sudo/);
      seen.push((error as Error).message);
      await pool.close();
    } finally {
      await bare.stop();
    }
  });

  it("an answer slower than sudo's passwd_timeout: the command goes again with it, asked once", async () => {
    const human = sudoHuman([PASSWORD], 4500);
    const pool = poolAs('nsslow', human);
    const result = await runAsRoot(pool, 'id -u', seen);
    expect(result).toMatchObject({ stdout: '0\n', stderr: '', exitCode: 0 });
    expect(human.asked).toHaveLength(1);
  }, 20_000);

  it('a password with a line break is refused before sudo sees it, and not kept', async () => {
    const human = sudoHuman(['first\nsecond', PASSWORD]);
    const pool = poolAs('nspw', human);
    const error = await runAsRoot(pool, 'id -u', seen).catch((caught: Error) => caught);
    expect((error as Error).message).toMatch(/The sudo password for nspw on dragon cannot be used: it holds a line break/);
    seen.push((error as Error).message);
    expect((await runAsRoot(pool, 'id -u', seen)).stdout).toBe('0\n');
    expect(human.asked).toHaveLength(2);
  });

  it.each(['nstcsh', 'nstcshtty'])('a tcsh login shell passes the sudo launcher on as it is (%s)', async (user) => {
    const pool = poolAs(user, sudoHuman([PASSWORD]));
    const result = await runAsRoot(pool, 'echo "$0 $(id -u)"; echo "!x \\$HOME" >&2', seen);
    expect(result).toMatchObject({ stdout: '/bin/sh 0\n', stderr: '!x $HOME\n', exitCode: 0 });
  });

  it("a sudo that would keep the user's HOME: root's commands get root's, so no root-owned run folder lands in the user's home", async () => {
    const pool = poolAs('nskeephome', sudoHuman([]));
    expect((await runAsRoot(pool, 'echo "$HOME"', seen)).stdout).toBe('/root\n');
    const ended = await runDetachedAsRoot(pool, 'true', `become-keephome-${RUN}/step.1`, seen);
    expect(ended.exitCode).toBe(0);
    expect(host.sshd.inNamespace(`find ${host.sshd.sudoUserHome('nskeephome')} -user 0 | head -n 3; echo listed`)).toBe('listed\n');
  });

  it('a user sudo has no rule for: a clear refusal naming the host, the user and what to change', async () => {
    const pool = poolAs('nsnorule', sudoHuman([PASSWORD]));
    const error = await runAsRoot(pool, 'id -u', seen).catch((caught: Error) => caught);
    expect((error as Error).message).toMatch(/sudo on dragon does not let nsnorule run commands as root .*\/etc\/sudoers\.d\//);
    seen.push((error as Error).message);
  });

  it('an upload to a root-owned folder is put in place by root', async () => {
    const pool = poolAs('nspw', sudoHuman([PASSWORD]));
    const local = path.join(scratch, 'motd.txt');
    writeFileSync(local, 'hello from nightshift\n');
    const target = `/root/ns-become-upload-${process.pid}.txt`;
    const sent = await pool.upload('dragon', local, target, { mode: 0o640, become: 'sudo' });
    expect(sent.bytes).toBe(22);
    expect(host.sshd.inNamespace(`stat -c '%U %a' ${target}; cat ${target}; rm -f ${target}`)).toBe('root 640\nhello from nightshift\n');
  });

  it("a detached run of root's: its state is read and it is stopped through sudo", async () => {
    const pool = poolAs('nspw', sudoHuman([PASSWORD]));
    const runId = `become-state-${RUN}/step.1`;
    const controller = new AbortController();
    const running = pool
      .runDetached('dragon', 'echo started; sleep 60', {
        runId,
        onStdout: (chunk) => {
          if (chunk.toString().includes('started')) controller.abort();
        },
        onStderr: () => {},
        become: 'sudo',
        signal: controller.signal,
        leaveRunning: () => true,
      })
      .catch((error: Error) => error);
    expect(await running).toMatchObject({ name: 'AbortError' });
    expect(await pool.detachedRunState('dragon', runId, undefined, 'sudo')).toMatchObject({ state: 'running' });
    const stopped = await pool.stopDetachedRun('dragon', runId, undefined, 'sudo');
    expect(stopped.state).toBe('ended');
  });

  async function withRevert(pool: HostPool, change: string, revert: string, onChanged?: () => void) {
    const loaded = parseRunbook(
      `name: t\nhosts:\n  dragon: { become: sudo }\nphases:\n  - name: one\n    steps:\n      - run: ${JSON.stringify(change)}\n        host: dragon\n        revert_after: 3s\n        revert: ${JSON.stringify(revert)}\n`,
      'rb.yaml',
    );
    const step = loaded.phases[0]!.steps[0] as RunStep;
    expect(step.become).toBe('sudo');
    const outcome = await runStepWithRevert(hostsBecoming(pool, step.become), step, {
      logFile: path.join(scratch, `revert-${Math.random().toString(16).slice(2)}.log`),
      sessionId: `become-revert-${RUN}-${Math.random().toString(16).slice(2, 6)}`,
      sites: loaded.sites,
      ...(onChanged ? { onChanged } : {}),
    });
    seen.push(outcome.text);
    return outcome;
  }

  it('revert_after as root: armed and disarmed through sudo, or fired as root when no new login gets through', async () => {
    const pool = poolAs('nspw', sudoHuman([PASSWORD]));
    const kept = `/root/ns-become-kept-${process.pid}`;
    const disarmed = await withRevert(pool, 'id -u', `touch ${kept}`);
    expect(disarmed, disarmed.text).toMatchObject({ result: { exitCode: 0 }, events: ['revert.armed', 'revert.disarmed'] });
    const fired = `/root/ns-become-fired-${process.pid}`;
    const firing = await withRevert(pool, 'echo changed', `echo "undone by $(id -un)"; touch ${fired}`, () => {
      breakLogins = true;
      setTimeout(() => (breakLogins = false), 4500);
    });
    breakLogins = false;
    expect(firing.events, firing.text).toEqual(['revert.armed', 'revert.unconfirmed', 'revert.fired']);
    expect(firing.text).toMatch(/undone by root/);
    // The revert says who it runs as before it touches its file.
    await waitFor(() => host.sshd.inNamespace(`test -e ${fired} && echo there; true`) !== '', { what: `the fired revert to touch ${fired}` });
    expect(host.sshd.inNamespace(`ls ${kept} ${fired} 2>/dev/null; rm -f ${kept} ${fired}`)).toBe(`${fired}\n`);
  }, 60_000);

  it('a guard on a host that says become: sudo arms, fires and reports as root', async () => {
    const pool = poolAs('nspw', sudoHuman([PASSWORD]));
    const fired = `/root/ns-become-guard-${process.pid}`;
    const loaded = parseRunbook(
      `name: t\nhosts:\n  dragon: { become: sudo }\nphases:\n  - name: swap\n    guard:\n      revert_after: 1m\n      revert:\n        dragon: ${JSON.stringify(`echo "undone by $(id -un)"; touch ${fired}`)}\n    steps:\n      - run: id -u\n        host: dragon\n`,
      'rb.yaml',
    );
    const [arm, fire] = [loaded.phases[0]!.steps[0] as GuardStep, loaded.phases[0]!.fallback![0] as GuardStep];
    const keeper = new GuardKeeper(pool, `become-guard-${RUN}`, () => {}, [arm.guard]);
    const output = new StepOutput(path.join(scratch, `guard-${RUN}.log`));
    const context = { hosts: pool, keeper, output, sessionId: `become-guard-${RUN}`, signal: new AbortController().signal, sites: loaded.sites };
    await runGuardStep(arm, context);
    expect(keeper.active()?.hosts).toEqual([expect.objectContaining({ host: 'dragon', state: 'armed' })]);
    expect(await keeper.extend(60_000)).toBe("the guard's deadline moved 1m later on every host");
    await runGuardStep(fire, context);
    await output.close();
    const text = output.ring
      .tail(50)
      .map((line) => line.text)
      .join('\n');
    seen.push(text);
    expect(text).toMatch(/dragon revert\| undone by root/);
    expect(host.sshd.inNamespace(`ls ${fired}; rm -f ${fired}`)).toBe(`${fired}\n`);
    // Its folder is root's: the run folders under /root.
    expect(host.sshd.inNamespace(`ls -d /root/.local/state/nightshift/runs/become-guard-${RUN}/swap.dragon.guard`)).toMatch(/swap\.dragon\.guard/);
  }, 60_000);

  it('the password is nowhere: not in what nightshift said, not under its HOME, not on the host', () => {
    const all = seen.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(PASSWORD);
    for (const home of homes) {
      const found = spawnSync('grep', ['-rlF', '--', PASSWORD, home], { encoding: 'utf8' });
      expect(found.stdout).toBe('');
    }
    // On the host: its temporary folders, the users' homes, root's (run folders), the harness's folder.
    const onHost = host.sshd.inNamespace(
      `grep -rlF -- ${shellWord(PASSWORD)} /tmp /var/tmp /root/.local/state/nightshift /root/.cache/nightshift ${host.sshd.dir}/homes 2>/dev/null; echo searched`,
    );
    expect(onHost).toBe('searched\n');
    for (const name of ['nspw', 'nstty']) expect(statSync(host.sshd.sudoUserHome(name)).isDirectory()).toBe(true);
    expect(readFileSync(path.join(host.sshd.dir, 'shadow'), 'utf8')).not.toContain(PASSWORD);
  });
});

function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
