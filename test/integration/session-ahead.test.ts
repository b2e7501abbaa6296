// A session channel opened ahead for the next command, against the real OpenSSH sshd: the
// next command's exec request goes on it at once (a round trip sooner over a long link), and
// on a server that allows few sessions what needs a session of its own (an upload, the
// check's SFTP probe) still gets one: the channel opened ahead gives its place up.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { Connection } from '../../src/remote/connection.js';
import { execCaptured, execOnConnection } from '../../src/remote/exec.js';
import { probeSftpOn } from '../../src/remote/host-probes.js';
import { uploadFile } from '../../src/remote/transfer.js';
import { describeWithSshd } from '../support/sshd.js';
import { openTestConnection } from '../support/ssh-pool.js';
import { withSshd } from '../support/with-sshd.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function suite(name: string, extraConfig: string[], body: (connect: () => Promise<Connection>, work: () => string) => void): void {
  describeWithSshd(name, () => {
    const host = withSshd({ extraConfig }, { home: 'test' });
    let work: string;
    let connections: Connection[];
    beforeEach(() => {
      work = mkdtempSync(path.join(tmpdir(), 'ns-ahead-'));
      connections = [];
    });
    afterEach(async () => {
      await Promise.all(connections.map((connection) => connection.close()));
      rmSync(work, { recursive: true, force: true });
    });
    body(
      async () => {
        const connection = await openTestConnection(host.sshd, host.home);
        connections.push(connection);
        return connection;
      },
      () => work,
    );
  });
}

suite('a session channel opened ahead', [], (connect) => {
  test('each command leaves one for the next, which runs on it without opening a channel of its own', async () => {
    const connection = await connect();
    const opens = vi.spyOn(connection.client, 'exec');
    for (let i = 1; i <= 3; i++) {
      const { stdout, stderr, result } = await execCaptured(connection, `echo "command ${i}"; echo "its stderr" >&2; exit ${i}`);
      expect({ stdout, stderr, result }).toEqual({ stdout: `command ${i}\n`, stderr: 'its stderr\n', result: { exitCode: i } });
    }
    expect(opens).toHaveBeenCalledTimes(1);
  });

  test('commands side by side each get a channel, and all of their output', async () => {
    const connection = await connect();
    await execCaptured(connection, 'true');
    const ran = await Promise.all([1, 2, 3, 4].map((i) => execCaptured(connection, `sleep 0.2; echo "side ${i}"`)));
    expect(ran.map(({ stdout, result }) => ({ stdout, result }))).toEqual([1, 2, 3, 4].map((i) => ({ stdout: `side ${i}\n`, result: { exitCode: 0 } })));
  });

  test('one nobody takes is closed with the connection, quietly', async () => {
    const connection = await connect();
    await execCaptured(connection, 'true');
    await connection.close();
    expect(await connection.takeSessionAhead()).toBeNull();
  });
});

suite('a session channel opened ahead, on a server that allows two sessions (MaxSessions 2)', ['MaxSessions 2'], (connect, work) => {
  /**
   * A command that holds a session while the test goes on, started on the channel opened
   * ahead by the command before it: the next one, opened as it started, holds the other.
   */
  async function holdingBoth(connection: Connection) {
    await execCaptured(connection, 'true');
    let said = '';
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const holding = execOnConnection(connection, 'echo started; sleep 2; echo held', {
      onStdout: (chunk) => {
        said += chunk.toString();
        if (said.startsWith('started\n')) started();
      },
      onStderr: () => {},
    });
    await running;
    return holding.then((result) => ({ result, said }));
  }

  test('an upload during a command gets its session: the channel opened ahead gives its place up', async () => {
    const connection = await connect();
    const holding = await holdingBoth(connection);
    const data = randomBytes(100_000);
    const local = path.join(work(), 'local.bin');
    writeFileSync(local, data);
    await uploadFile(connection, local, path.join(work(), 'up.bin'));
    expect(sha256(readFileSync(path.join(work(), 'up.bin')))).toBe(sha256(data));
    expect(await holding).toEqual({ result: { exitCode: 0 }, said: 'started\nheld\n' });
  });

  test("the check's SFTP probe during a command finds the server's SFTP all the same", async () => {
    const connection = await connect();
    const holding = await holdingBoth(connection);
    expect(await probeSftpOn(connection)).toEqual({ available: true });
    expect(await holding).toEqual({ result: { exitCode: 0 }, said: 'started\nheld\n' });
  });
});
