// Remote commands through HostPool against the real OpenSSH sshd.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import type { Socket } from 'node:net';
import { ConnectionLostError } from '../../src/remote/errors.js';
import { execOnConnection } from '../../src/remote/exec.js';
import { describeWithSshd } from '../support/sshd.js';
import { openTestConnection, poolFor, run } from '../support/ssh-pool.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

/** Alive and not a zombie (an orphan's zombie lingers until init gets round to reaping it). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describeWithSshd('remote exec against OpenSSH sshd', () => {
  const host = withSshd({}, { home: 'test', pool: true });

  test('streams stdout and stderr separately and returns the exit code', async () => {
    const ok = await run(host.pool, 'echo out-1; echo err-1 >&2; echo out-2');
    expect(ok).toEqual({ stdout: 'out-1\nout-2\n', stderr: 'err-1\n', exitCode: 0 });

    const three = await run(host.pool, 'echo partial; exit 3');
    expect(three.exitCode).toBe(3);
    expect(three.stdout).toBe('partial\n');
  });

  test('a command killed by a signal reports the signal, not an exit code', async () => {
    const killed = await run(host.pool, 'echo before; kill -KILL $$');
    expect(killed.stdout).toBe('before\n');
    expect(killed.exitCode).toBeNull();
    expect(killed.signal).toBe('SIGKILL');
  });

  test('stdin is closed: a command reading it sees end of file instead of hanging', async () => {
    const result = await run(host.pool, 'cat; echo done');
    expect(result).toEqual({ stdout: 'done\n', stderr: '', exitCode: 0 });
  });

  test('large output arrives complete and in order', async () => {
    const result = await run(host.pool, 'seq 1 200000');
    const expected = Array.from({ length: 200000 }, (_, index) => `${index + 1}\n`).join('');
    expect(result.stdout.length).toBe(expected.length);
    expect(result.stdout === expected).toBe(true);
    expect(result.exitCode).toBe(0);
  });

  test('commands reuse one connection per host', async () => {
    const first = await run(host.pool, 'echo $SSH_CONNECTION');
    const second = await run(host.pool, 'echo $SSH_CONNECTION');
    expect(first.stdout.trim()).not.toBe('');
    expect(second.stdout).toBe(first.stdout);
  });

  async function startAndAbort(command: (pidFile: string) => string): Promise<number> {
    const pidFile = path.join(host.sshd.dir, `abort-${Date.now()}-${Math.random()}.pid`);
    const controller = new AbortController();
    const chunks: string[] = [];
    const running = host.pool.exec('dragon', command(pidFile), {
      onStdout: (chunk) => chunks.push(chunk.toString()),
      onStderr: () => {},
      signal: controller.signal,
    });
    await waitFor(() => chunks.join('').includes('started') && existsSync(pidFile), { what: 'the command to start', timeoutMs: 5000 });
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(isRunning(pid)).toBe(true);
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    return pid;
  }

  test('aborting stops the remote command (sshd runs on this machine, so its pid can be checked)', async () => {
    const pid = await startAndAbort((pidFile) => `echo $$ > ${pidFile}; echo started; exec sleep 300`);
    await waitFor(() => !isRunning(pid), { what: `remote pid ${pid} to end`, timeoutMs: 5000 });
    // The connection survives the abort.
    expect((await run(host.pool, 'echo still here')).stdout).toBe('still here\n');
  });

  test('aborting also stops what the remote command started', async () => {
    const pid = await startAndAbort((pidFile) => `sleep 300 & echo $! > ${pidFile}; echo started; wait`);
    await waitFor(() => !isRunning(pid), { what: `the remote background sleep ${pid} to end`, timeoutMs: 5000 });
  });

  test('closing the pool right after an abort still stops the remote command', async () => {
    const pid = await startAndAbort((pidFile) => `echo $$ > ${pidFile}; echo started; sleep 300; echo never`);
    await host.pool.close();
    await waitFor(() => !isRunning(pid), { what: `remote pid ${pid} to end`, timeoutMs: 5000 });
  });

  test('an exec whose signal is already aborted does not run', async () => {
    const marker = path.join(host.sshd.dir, `never-${Date.now()}`);
    const controller = new AbortController();
    controller.abort();
    await expect(host.pool.exec('dragon', `touch ${marker}`, { onStdout: () => {}, onStderr: () => {}, signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(existsSync(marker)).toBe(false);
  });

  test('connection states are published: idle, connecting, connected, closed', async () => {
    const seen: string[] = [];
    expect(host.pool.state('dragon')).toEqual({ state: 'idle' });
    const unsubscribe = host.pool.subscribe(() => seen.push(host.pool.states()['dragon']?.state ?? 'missing'));
    await host.pool.connect('dragon');
    expect(host.pool.state('dragon').state).toBe('connected');
    await host.pool.close();
    unsubscribe();
    expect(seen).toEqual(['connecting', 'connected', 'closed']);
  });

  test('a dropped link fails the running command, is published, and the next exec reconnects', async () => {
    const seen: string[] = [];
    host.pool.subscribe(() => {
      const state = host.pool.state('dragon');
      seen.push(state.state === 'failed' ? `failed: ${state.error}` : state.state);
    });
    const first = await run(host.pool, 'echo $SSH_CONNECTION');

    const chunks: string[] = [];
    const running = host.pool.exec('dragon', 'echo started; sleep 5', {
      onStdout: (chunk) => chunks.push(chunk.toString()),
      onStderr: () => {},
    });
    await waitFor(() => chunks.join('').includes('started'), { what: 'the command to start', timeoutMs: 5000 });
    host.sshd.dropConnections();
    const error = await running.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as Error).message).toMatch(/dragon \(127\.0\.0\.1:\d+\) dropped while the command was running/);
    expect(host.pool.state('dragon').state).toBe('failed');

    const second = await run(host.pool, 'echo $SSH_CONNECTION');
    expect(second.exitCode).toBe(0);
    expect(second.stdout).not.toBe(first.stdout);
    expect(seen[0]).toBe('connecting');
    expect(seen[1]).toBe('connected');
    expect(seen[2]).toMatch(/^failed: /);
    expect(seen.slice(3)).toEqual(['connecting', 'connected']);
  });

  test('a socket gone before the connection heard of it: a lost link at once, and the connection is dead from then on', async () => {
    const connection = await openTestConnection(host.sshd, host.home);
    (connection.client as unknown as { _sock: Socket })._sock.destroy();
    const error = await execOnConnection(connection, 'true', { onStdout: () => {}, onStderr: () => {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(connection.isAlive).toBe(false);
  });

  test('a link that stops answering is noticed by the keepalive and published as failed', async () => {
    const quick = poolFor(host.sshd, { home: host.home, keepaliveIntervalMs: 200 });
    try {
      await quick.connect('dragon');
      host.sshd.freezeConnections();
      const started = Date.now();
      await waitFor(() => quick.state('dragon').state === 'failed', { what: 'the keepalive to give up', timeoutMs: 5000 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(quick.state('dragon')).toMatchObject({ error: expect.stringMatching(/keepalive/i) });
    } finally {
      host.sshd.thawConnections();
      await quick.close();
    }
  });

  test('concurrent commands on a fresh pool share one login', async () => {
    const results = await Promise.all([1, 2, 3].map(() => run(host.pool, 'echo $SSH_CONNECTION')));
    expect(new Set(results.map((result) => result.stdout)).size).toBe(1);
  });

  test('isPortOpen answers for the sshd port and not for a closed one', async () => {
    expect(await host.pool.isPortOpen('dragon', host.sshd.port, 2000)).toBe(true);
    expect(await host.pool.isPortOpen('dragon', 1, 2000)).toBe(false);
  });

  test('an unknown host name is a plain error', async () => {
    await expect(host.pool.connect('nosuch')).rejects.toThrow('Unknown host nosuch: the runbook defines dragon.');
  });
});

describeWithSshd('remote exec behind a login shell that prints first', () => {
  // As a noisy .bashrc or a message of the day on stderr would: before nightshift's launcher runs.
  const host = withSshd(
    { extraConfig: [`ForceCommand printf 'welcome: the login shell speaks first\\n' >&2; exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"`] },
    { home: 'test', pool: true },
  );
  test("the shell's words pass through, the launcher's pid line does not, and an abort still finds the command", async () => {
    const result = await run(host.pool, 'echo out; echo err >&2');
    expect(result).toEqual({ stdout: 'out\n', stderr: 'welcome: the login shell speaks first\nerr\n', exitCode: 0 });

    const pidFile = path.join(host.sshd.dir, `noisy-${Date.now()}.pid`);
    const controller = new AbortController();
    let stderr = '';
    const running = host.pool.exec('dragon', `echo $$ > ${pidFile}; exec sleep 300`, {
      onStdout: () => {},
      onStderr: (chunk) => (stderr += chunk.toString()),
      signal: controller.signal,
    });
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', { what: 'the command to start', timeoutMs: 5000 });
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    await waitFor(() => !isRunning(pid), { what: `remote pid ${pid} to end`, timeoutMs: 5000 });
    expect(stderr).not.toContain('nightshift-pid');
  });
});
