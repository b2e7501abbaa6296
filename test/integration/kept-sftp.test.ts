// The check's SFTP session is kept for the first upload, against the real OpenSSH sshd: the
// upload opens no session of its own, and a server that allows one session at a time still
// runs the commands that come next.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { Connection } from '../../src/remote/connection.js';
import { execCaptured } from '../../src/remote/exec.js';
import { probeSftpOn } from '../../src/remote/host-probes.js';
import { uploadFile } from '../../src/remote/transfer.js';
import type { Sshd } from '../support/sshd.js';
import { describeWithSshd } from '../support/sshd.js';
import { openTestConnection } from '../support/ssh-pool.js';
import { withSshd } from '../support/with-sshd.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface SuiteContext {
  connect(): Promise<Connection>;
  work(): string;
  sshd(): Sshd;
  /** A local file of `bytes` random bytes in the work folder, and its contents. */
  randomLocalFile(bytes: number): { local: string; data: Buffer };
}

function suite(name: string, extraConfig: string[], body: (context: SuiteContext) => void): void {
  describeWithSshd(name, () => {
    const host = withSshd({ extraConfig }, { home: 'test' });
    let work: string;
    let connections: Connection[];
    beforeEach(() => {
      work = mkdtempSync(path.join(tmpdir(), 'ns-kept-sftp-'));
      connections = [];
    });
    afterEach(async () => {
      await Promise.all(connections.map((connection) => connection.close()));
      rmSync(work, { recursive: true, force: true });
    });
    body({
      connect: async () => {
        const connection = await openTestConnection(host.sshd, host.home);
        connections.push(connection);
        return connection;
      },
      work: () => work,
      sshd: () => host.sshd,
      randomLocalFile: (bytes) => {
        const data = randomBytes(bytes);
        const local = path.join(work, 'local.bin');
        writeFileSync(local, data);
        return { local, data };
      },
    });
  });
}

suite('the SFTP session of the check, kept for the first upload', [], ({ connect, work, randomLocalFile }) => {
  test('the first upload after the check opens no SFTP session of its own; the next one does', async () => {
    const connection = await connect();
    expect(await probeSftpOn(connection)).toEqual({ available: true });
    const opens = vi.spyOn(connection.client, 'sftp');
    const { local, data } = randomLocalFile(300_000);

    await uploadFile(connection, local, path.join(work(), 'first.bin'));
    expect(opens).toHaveBeenCalledTimes(0);
    expect(sha256(readFileSync(path.join(work(), 'first.bin')))).toBe(sha256(data));

    await uploadFile(connection, local, path.join(work(), 'second.bin'));
    expect(opens).toHaveBeenCalledTimes(1);
    expect(sha256(readFileSync(path.join(work(), 'second.bin')))).toBe(sha256(data));
  });

  test("on a server that answered ssh2's limits@openssh.com request, the check asks no more of the session (a round trip less before the first step)", async () => {
    const connection = await connect();
    const open = connection.client.sftp.bind(connection.client);
    const realpaths: string[] = [];
    vi.spyOn(connection.client, 'sftp').mockImplementation(((callback: Parameters<typeof open>[0]) =>
      open((error, sftp) => {
        if (sftp) {
          const realpath = sftp.realpath.bind(sftp);
          sftp.realpath = ((where: string, done: Parameters<typeof realpath>[1]) => {
            realpaths.push(where);
            return realpath(where, done);
          }) as typeof sftp.realpath;
        }
        callback(error, sftp);
      })) as typeof connection.client.sftp);
    expect(await probeSftpOn(connection)).toEqual({ available: true });
    expect(realpaths).toEqual([]);
    vi.restoreAllMocks();
    const { local, data } = randomLocalFile(50_000);
    await uploadFile(connection, local, path.join(work(), 'kept.bin'));
    expect(readFileSync(path.join(work(), 'kept.bin')).equals(data)).toBe(true);
  });

  test('a kept session the server closed is not handed out: the upload opens its own', async () => {
    const connection = await connect();
    expect(await probeSftpOn(connection)).toEqual({ available: true });
    // This connection's sftp-server ends (as when it is killed): the channel closes. The
    // command's shell and the sftp-server are both children of the connection's sshd.
    const killed = await execCaptured(connection, 'pkill -x -P "$PPID" sftp-server && echo killed');
    expect(killed.stdout).toBe('killed\n');
    await vi.waitFor(() => expect(connection.takeKeptSftp()).toBeUndefined(), { timeout: 5000 });
    const opens = vi.spyOn(connection.client, 'sftp');
    const { local, data } = randomLocalFile(10_000);
    await uploadFile(connection, local, path.join(work(), 'after.bin'));
    expect(opens).toHaveBeenCalledTimes(1);
    expect(readFileSync(path.join(work(), 'after.bin')).equals(data)).toBe(true);
  });
});

suite('a kept SFTP session on a server that allows one session (MaxSessions 1)', ['MaxSessions 1'], ({ connect }) => {
  test('a command after the check still runs: the kept session gives its place up', async () => {
    const connection = await connect();
    expect(await probeSftpOn(connection)).toEqual({ available: true });
    const { stdout, result } = await execCaptured(connection, 'echo "ran after the check"');
    expect(result).toEqual({ exitCode: 0 });
    expect(stdout).toBe('ran after the check\n');
    expect(connection.takeKeptSftp()).toBeUndefined();
  });
});
