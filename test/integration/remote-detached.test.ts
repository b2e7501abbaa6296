// Detached steps against the real sshd, with the link cut at several points: the output
// arrives complete, in order and exactly once, and the exit status is still collected.
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { HostPool } from '../../src/remote/host-pool.js';
import type { ConnectionState } from '../../src/remote/types.js';
import { makeHome, poolFor, removeHome } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

/** Prints `count` numbered lines, `pause` seconds apart in blocks of `block`, then exits with `status`. */
const numbered = (count: number, block: number, pause: number, status = 0) =>
  `i=1; while [ $i -le ${count} ]; do echo "line $i"; [ $((i % ${block})) -eq 0 ] && sleep ${pause}; i=$((i+1)); done; echo "err done" >&2; exit ${status}`;

const expectedLines = (count: number) => Array.from({ length: count }, (_, i) => `line ${i + 1}\n`).join('');

/** Where a run's files are on the host (the test's own machine and user). */
const runFolderOf = (runId: string) => path.join(homedir(), '.local/state/nightshift/runs', runId);

/** Blocks this process (the client and the relay with it) until `done()` or the time is up: the host goes on meanwhile. */
function blockUntil(done: () => boolean, ms: number): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
}

/**
 * The command's stderr was followed exactly: `expected`, once, at the end. Anything before
 * it came from the login shell starting the follower (start-up files that print on stderr,
 * such as a busy pyenv rehash on a shared machine), once per channel, not from the command.
 */
function expectCommandStderr(stderr: string, expected: string): void {
  expect(stderr.endsWith(expected), stderr).toBe(true);
  expect(stderr.split(expected)).toHaveLength(2);
}

/** Calls `cut` once the run's wrapper wrote its pid on the host (the command started, its first output not yet come). */
function cutOnceStarted(runId: string, cut: () => void): void {
  const watch = setInterval(() => {
    if (!existsSync(path.join(runFolderOf(runId), 'pid'))) return;
    clearInterval(watch);
    cut();
  }, 20);
  setTimeout(() => clearInterval(watch), 30_000).unref();
}

/** Runs `command` detached on dragon; `onBytes` sees the running byte count of stdout and may cut the link. */
async function detachedRun(pool: HostPool, command: string, options: { onBytes?: (bytes: number) => void; runId?: string } = {}) {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const notices: string[] = [];
  let bytes = 0;
  const runId = options.runId ?? `test-${randomBytes(4).toString('hex')}/step.1`;
  const result = await pool.runDetached('dragon', command, {
    runId,
    onStdout: (chunk) => {
      stdout.push(chunk);
      bytes += chunk.length;
      options.onBytes?.(bytes);
    },
    onStderr: (chunk) => stderr.push(chunk),
    onNotice: (text) => notices.push(text),
  });
  return { ...result, runId, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), notices };
}

describeWithSshd('detached remote steps over a link that drops', () => {
  const host = withSshd();
  let home: string;
  let pool: HostPool;
  let states: Array<ConnectionState['state']>;

  afterEach(async () => {
    host.sshd.thawConnections();
    await pool?.close();
    removeHome(home);
  });

  function freshPool(options: { keepaliveIntervalMs?: number; reconnectForMs?: number } = {}) {
    home = makeHome();
    pool = poolFor(host.sshd, { home, ...options });
    states = [];
    pool.subscribe(() => {
      const state = pool.state('dragon').state;
      if (states.at(-1) !== state) states.push(state);
    });
    return pool;
  }

  const runDetached = (command: string, onBytes?: (bytes: number) => void) => detachedRun(pool, command, { onBytes });

  it('without trouble: output, stderr and the exit status; the output stays on the host until released', async () => {
    freshPool();
    const run = await runDetached(numbered(50, 10, 0.05, 3));
    expect(run.stdout).toBe(expectedLines(50));
    expect(run.stderr).toBe('err done\n');
    expect(run.exitCode).toBe(3);
    expect(run.notices).toEqual([]);
    const folder = runFolderOf(run.runId);
    expect(readFileSync(path.join(folder, 'out'), 'utf8')).toBe(expectedLines(50));
    pool.releaseRun('dragon', run.runId);
    await pool.close();
    expect(existsSync(path.join(folder, 'out'))).toBe(false);
    expect(readFileSync(path.join(folder, 'exit'), 'utf8')).toBe('3\n');
  });

  it.each([
    ['before any output', 0],
    ['in the middle of the output', 30_000],
    ['near the end of the output', 110_000],
  ])('the server drops the link %s: every byte exactly once, in order', async (_, cutAt) => {
    freshPool();
    let cut = false;
    const count = 12_000;
    const command = `sleep 0.5; ${numbered(count, 2000, 0.3, 0)}`;
    const runId = `test-${randomBytes(4).toString('hex')}/step.1`;
    if (cutAt === 0) cutOnceStarted(runId, () => ((cut = true), host.sshd.dropConnections()));
    const run = await detachedRun(pool, command, {
      runId,
      onBytes: (bytes) => {
        if (!cut && cutAt > 0 && bytes >= cutAt) {
          cut = true;
          host.sshd.dropConnections();
        }
      },
    });
    expect(cut).toBe(true);
    expect(run.stdout).toBe(expectedLines(count));
    expect(run.stderr).toBe('err done\n');
    expect(run.exitCode).toBe(0);
    expect(run.notices[0]).toMatch(/the link to dragon dropped; reconnecting to follow the command on/);
    expect(run.notices.at(-1)).toBe('nightshift: reconnected to dragon');
    expect(states).toContain('connected');
    expect(states.indexOf('failed')).toBeGreaterThan(0);
  });

  it('the link drops after the command ended but before its status was read', async () => {
    freshPool();
    let cut = false;
    const run = await runDetached(`echo only-line; exit 4`, () => {
      if (!cut) {
        cut = true;
        host.sshd.dropConnections();
      }
    });
    expect(run.stdout).toBe('only-line\n');
    expect(run.exitCode).toBe(4);
  });

  it('sshd restarted mid-step: reconnect attempts are published until it listens again', async () => {
    freshPool();
    let restarted: Promise<void> | undefined;
    const run = await runDetached(numbered(3000, 500, 0.3, 0), (bytes) => {
      if (!restarted && bytes > 5000) {
        restarted = host.sshd.goDown().then(async () => {
          await new Promise((resolve) => setTimeout(resolve, 2500));
          await host.sshd.restart();
        });
      }
    });
    await restarted;
    expect(run.stdout).toBe(expectedLines(3000));
    expect(run.exitCode).toBe(0);
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('connected');
  });

  it('a link that stops answering is noticed by the keepalive, and the step goes on over a new one', async () => {
    freshPool({ keepaliveIntervalMs: 500 });
    let frozen = false;
    const run = await runDetached(numbered(2000, 400, 0.3, 0), (bytes) => {
      if (!frozen && bytes > 3000) {
        frozen = true;
        host.sshd.freezeConnections();
      }
    });
    expect(frozen).toBe(true);
    expect(run.stdout).toBe(expectedLines(2000));
    expect(run.exitCode).toBe(0);
  });

  it('a host that does not come back is lost, with a plain error', async () => {
    freshPool({ reconnectForMs: 3000 });
    let cut = false;
    const running = runDetached(numbered(100, 10, 0.3, 0), (bytes) => {
      if (!cut && bytes > 50) {
        cut = true;
        void host.sshd.goDown();
      }
    });
    await expect(running).rejects.toThrow(/^Lost dragon: no login within 3 s after the link dropped/);
    expect(states.at(-1)).toBe('lost');
    await host.sshd.restart();
  });

  it('an attempt followed again whose run folder is gone is not started anew', async () => {
    freshPool();
    const runId = `test-${randomBytes(4).toString('hex')}/step.1`;
    const marker = path.join(home, 'ran');
    const followed = pool.runDetached('dragon', `touch ${marker}`, { runId, followOnly: true, onStdout: () => {}, onStderr: () => {} });
    await expect(followed).rejects.toThrow(/its run folder is gone from the host .* it is not started again/);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(runFolderOf(runId))).toBe(false);
  });

  it('aborting stops the detached command on the host', async () => {
    freshPool();
    const controller = new AbortController();
    const marker = `nightshift-abort-${randomBytes(3).toString('hex')}`;
    const running = pool.runDetached('dragon', `echo started; exec sleep 30 # ${marker}`, {
      runId: `test-${marker}/step.1`,
      onStdout: () => controller.abort(),
      onStderr: () => {},
      signal: controller.signal,
    });
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    await pool.close();
    // The pattern [-] keeps pgrep from finding the shell that runs it.
    const pattern = marker.replace('-abort-', '-abort[-]');
    const alive = () =>
      execSync(`for p in $(pgrep -f '${pattern}' || true); do [ "$(cut -d' ' -f3 /proc/$p/stat)" = Z ] || echo $p; done`, {
        encoding: 'utf8',
      }).trim();
    await waitFor(() => alive() === '', { what: 'the aborted command to end on the host', timeoutMs: 5000, intervalMs: 100 });
    expect(alive()).toBe('');
  });
});

// Here the link is cut between client and server by a relay the test controls: the sshd
// processes live on, as when a route fails. Commands reach the host through a wrapper
// (ForceCommand) that can hold back the answer to one status collect after running it.
describeWithSshd('detached remote steps over a relay that cuts the link', () => {
  const flags = mkdtempSync(path.join(tmpdir(), 'ns-collect-'));
  const wrapper = path.join(flags, 'wrapper.sh');
  beforeAll(() => {
    writeFileSync(
      wrapper,
      [
        // nightshift's commands come on stdin, read by a launcher (src/remote/exec.ts).
        // The launcher that keeps the channel's input reads the script's length in bytes: given back whole, padded.
        'case "$SSH_ORIGINAL_COMMAND" in',
        `  *'c=$(cat)'*) c=$(cat); n= ;;`,
        `  *'head -c '*) n=\${SSH_ORIGINAL_COMMAND#*head -c }; n=\${n%% *}; c=$(head -c "$n") ;;`,
        '  *) exec /bin/sh -c "$SSH_ORIGINAL_COMMAND" ;;',
        'esac',
        `case "$c" in *'echo state=found'*)`,
        // Armed by the test, once: the attach runs on the host to its end, its answer never leaves.
        `  if rm '${flags}/hold-collect' 2>/dev/null; then`,
        `    /bin/sh -c "$c" </dev/null > '${flags}/answer.tmp'`,
        `    echo $$ > '${flags}/held.pid'`,
        `    mv '${flags}/answer.tmp' '${flags}/answer'`,
        '    exec sleep 60',
        '  fi;;',
        'esac',
        'if [ -n "$n" ]; then',
        `  { printf '%s' "$c"; i=$((n - $(printf '%s' "$c" | wc -c))); while [ $i -gt 0 ]; do echo; i=$((i-1)); done; exec cat; } | exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"`,
        'fi',
        'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND" <<END_OF_COMMAND',
        '$c',
        'END_OF_COMMAND',
        '',
      ].join('\n'),
    );
  });
  const host = withSshd({ extraConfig: [`ForceCommand /bin/sh ${wrapper}`] });
  let relay: TcpRelay;
  let home: string;
  let pool: HostPool;

  beforeAll(async () => {
    relay = await TcpRelay.start(host.sshd.port);
  });
  afterAll(async () => {
    await relay?.close();
    rmSync(flags, { recursive: true, force: true });
  });
  afterEach(async () => {
    await pool?.close();
    removeHome(home);
  });

  function freshPool() {
    home = makeHome();
    pool = poolFor(host.sshd, { home, spec: { port: relay.port } });
    return pool;
  }

  it.each([
    ['before any output', 0],
    ['in the middle of the output', 30_000],
    ['near the end of the output', 110_000],
  ])('the relay cuts the link %s: every byte exactly once, in order, and the exit status', async (_, cutAt) => {
    freshPool();
    let cut = false;
    const count = 12_000;
    const command = `sleep 0.5; ${numbered(count, 2000, 0.3, 5)}`;
    const runId = `test-${randomBytes(4).toString('hex')}/step.1`;
    if (cutAt === 0) cutOnceStarted(runId, () => ((cut = true), relay.cut()));
    const run = await detachedRun(pool, command, {
      runId,
      onBytes: (bytes) => {
        if (!cut && cutAt > 0 && bytes >= cutAt) {
          cut = true;
          relay.cut();
        }
      },
    });
    expect(cut).toBe(true);
    expect(run.stdout).toBe(expectedLines(count));
    expectCommandStderr(run.stderr, 'err done\n');
    expect(run.exitCode).toBe(5);
    expect(run.notices[0]).toMatch(/the link to dragon dropped; reconnecting to follow the command on/);
    expect(run.notices.at(-1)).toBe('nightshift: reconnected to dragon');
  });

  it('the relay cuts the link after the command ended, before nightshift heard of it', async () => {
    freshPool();
    let cut = false;
    const runId = `test-${randomBytes(4).toString('hex')}/step.1`;
    const run = await detachedRun(pool, `echo first; sleep 0.5; echo last; exit 4`, {
      runId,
      onBytes: () => {
        if (cut) return;
        cut = true;
        // Nothing of the rest reaches this process until the cut: the command ends unheard.
        blockUntil(() => existsSync(path.join(runFolderOf(runId), 'exit')), 20_000);
        relay.cut();
      },
    });
    expect(readFileSync(path.join(runFolderOf(runId), 'exit'), 'utf8')).toBe('4\n');
    expect(run.stdout).toBe('first\nlast\n');
    expect(run.exitCode).toBe(4);
    expect(run.notices.at(-1)).toBe('nightshift: reconnected to dragon');
  });

  it('the answer with the status is lost with the link: the command ran once, and the status still arrives', async () => {
    freshPool();
    const marker = path.join(flags, `ran-${randomBytes(3).toString('hex')}`);
    writeFileSync(path.join(flags, 'hold-collect'), '');
    const running = detachedRun(pool, `echo x >> '${marker}'; ${numbered(500, 100, 0.05, 6)}`);
    try {
      await waitFor(() => existsSync(path.join(flags, 'answer')), { what: 'the held answer', timeoutMs: 30_000 });
      // The attach ran on the host to its end and found the status; only the link is gone.
      expect(readFileSync(path.join(flags, 'answer'), 'utf8')).toMatch(/^exit=6$/m);
      relay.cut();
      const run = await running;
      expect(run.exitCode).toBe(6);
      expect(run.stdout).toBe(expectedLines(500));
      expectCommandStderr(run.stderr, 'err done\n');
      expect(run.notices.at(-1)).toBe('nightshift: reconnected to dragon');
      expect(readFileSync(marker, 'utf8')).toBe('x\n');

      // Asked once more (a resume before the result was recorded): the same, still once.
      const again = await detachedRun(pool, `echo x >> '${marker}'; echo never`, { runId: run.runId });
      expect({ exitCode: again.exitCode, stdout: again.stdout }).toEqual({ exitCode: 6, stdout: run.stdout });
      expectCommandStderr(again.stderr, 'err done\n');
      expect(readFileSync(marker, 'utf8')).toBe('x\n');
    } finally {
      const held = path.join(flags, 'held.pid');
      try {
        if (existsSync(held)) process.kill(Number(readFileSync(held, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(held, { force: true });
      rmSync(path.join(flags, 'answer'), { force: true });
    }
  });
});

describeWithSshd('the channel of a detached step', () => {
  // At DEBUG1 sshd logs each session channel it opens.
  const host = withSshd({ extraConfig: ['LogLevel DEBUG1'] });
  const sessionChannels = () =>
    host.sshd
      .log()
      .split('\n')
      .filter((line) => /channel_open: ctype session/.test(line)).length;

  it('starts, follows and reads the status of the command, then releases its output once told, and only then', async () => {
    const home = makeHome();
    const pool = poolFor(host.sshd, { home });
    try {
      await pool.ensureConnected('dragon');
      const before = sessionChannels();
      const run = await detachedRun(pool, 'echo kept; echo said >&2; exit 4');
      expect(run).toMatchObject({ exitCode: 4, stdout: 'kept\n', notices: [] });
      expectCommandStderr(run.stderr, 'said\n');
      const folder = runFolderOf(run.runId);
      // The channel waits: nothing is released before the result is recorded.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(readFileSync(path.join(folder, 'out'), 'utf8')).toBe('kept\n');
      pool.releaseRun('dragon', run.runId);
      await waitFor(() => !existsSync(path.join(folder, 'out')), { what: 'the output released', timeoutMs: 5000 });
      expect(readFileSync(path.join(folder, 'exit'), 'utf8')).toBe('4\n');
      // Its channel, and the shell it kept ready for the next command (warm-shell.ts).
      expect(sessionChannels() - before).toBe(2);
      // The next step runs on that shell: one channel more, the shell it keeps ready in turn.
      const next = await detachedRun(pool, 'echo again');
      expect(next).toMatchObject({ exitCode: 0, stdout: 'again\n', notices: [] });
      pool.releaseRun('dragon', next.runId);
      await waitFor(() => !existsSync(path.join(runFolderOf(next.runId), 'out')), { what: 'the second output released', timeoutMs: 5000 });
      expect(sessionChannels() - before).toBe(3);
    } finally {
      await pool.close();
      removeHome(home);
    }
  });

  it('a result nobody records leaves the output on the host when the pool closes, without waiting', async () => {
    const home = makeHome();
    const pool = poolFor(host.sshd, { home });
    const run = await detachedRun(pool, 'echo kept');
    const closing = performance.now();
    await pool.close();
    removeHome(home);
    expect(performance.now() - closing).toBeLessThan(2000);
    expect(readFileSync(path.join(runFolderOf(run.runId), 'out'), 'utf8')).toBe('kept\n');
  });
});
