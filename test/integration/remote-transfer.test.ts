// Uploads over SFTP against the real OpenSSH sshd. sshd runs on this machine, so what
// arrived is checked on disk.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, test, vi } from 'vitest';
import type { Connection } from '../../src/remote/connection.js';
import { ConnectionLostError } from '../../src/remote/errors.js';
import { NoSftpServerError, SftpSession } from '../../src/remote/transfer-sftp.js';
import { PART_SUFFIX, uploadFile, UploadVerificationError, verifyAndPlace, type UploadProgress } from '../../src/remote/transfer.js';
import { describeWithSshd } from '../support/sshd.js';
import { openTestConnection } from '../support/ssh-pool.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { withSshd } from '../support/with-sshd.js';

const MiB = 1024 * 1024;

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The size of a file once it stopped changing (a cut-off sftp-server may still be writing what it had received). */
async function settledSize(file: string): Promise<number> {
  let last = -1;
  for (;;) {
    const size = existsSync(file) ? statSync(file).size : -1;
    if (size === last) return size;
    last = size;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describeWithSshd('uploads over SFTP against OpenSSH sshd', () => {
  const host = withSshd({ sftpHonoursPermissions: true }, { home: 'test' });
  let work: string;
  let connections: Connection[];

  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'ns-transfer-'));
    connections = [];
  });
  afterEach(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    rmSync(work, { recursive: true, force: true });
  });

  async function connect(port?: number): Promise<Connection> {
    const connection = await openTestConnection(host.sshd, host.home, port);
    connections.push(connection);
    return connection;
  }

  /** A local file of random bytes and the paths to upload it to. */
  function randomFile(bytes: number): { data: Buffer; local: string; remote: string; part: string } {
    const data = randomBytes(bytes);
    const local = path.join(work, 'local.bin');
    writeFileSync(local, data);
    mkdirSync(path.join(work, 'remote'), { recursive: true });
    const remote = path.join(work, 'remote', 'image.bin');
    return { data, local, remote, part: `${remote}${PART_SUFFIX}` };
  }

  test('a few MB arrive byte-identical, verified, with the mode applied and progress reported', async () => {
    const { data, local, remote, part } = randomFile(5 * MiB + 12_345);
    const connection = await connect();
    const seen: UploadProgress[] = [];
    const result = await uploadFile(connection, local, remote, { mode: 0o640, onProgress: (progress) => seen.push(progress) });

    expect(result).toEqual({ bytes: data.length, sha256: sha256(data), resumedFrom: 0 });
    expect(readFileSync(remote).equals(data)).toBe(true);
    expect(statSync(remote).mode & 0o777).toBe(0o640);
    expect(existsSync(part)).toBe(false);

    // No pass over the file before the first byte: it is hashed as it leaves.
    expect(new Set(seen.map((progress) => progress.phase))).toEqual(new Set(['sending', 'verifying']));
    expect(seen.map((progress) => progress.phase)).toEqual([...seen.map((progress) => progress.phase)].sort(phaseOrder));
    const sending = seen.filter((progress) => progress.phase === 'sending');
    expect(sending.length).toBeGreaterThanOrEqual(2);
    for (let index = 1; index < sending.length; index++) {
      expect(sending[index]!.bytes).toBeGreaterThanOrEqual(sending[index - 1]!.bytes);
    }
    expect(sending.at(-1)).toMatchObject({ bytes: data.length, total: data.length, etaMs: 0, resumedFrom: 0 });
    expect(seen.every((progress) => progress.total === data.length)).toBe(true);
  });

  test('over a long link every answer waited for is a round trip: the three stats go out together, and the close right behind the fsync', async () => {
    const { data, local, remote } = randomFile(MiB + 7);
    writeFileSync(`${remote}${PART_SUFFIX}`, data.subarray(0, 1000));
    const connection = await connect();
    // What the upload asked the SFTP server, in order: a request as it left, its answer as it came.
    const told: string[] = [];
    const spies = (['stat', 'fsync', 'close'] as const).map((name) => {
      const original = SftpSession.prototype[name] as (this: SftpSession, ...args: never[]) => Promise<unknown>;
      return vi.spyOn(SftpSession.prototype, name).mockImplementation(function (this: SftpSession, ...args: never[]) {
        told.push(`ask ${name}`);
        return original.apply(this, args).finally(() => told.push(`answer ${name}`));
      } as never);
    });
    try {
      expect((await uploadFile(connection, local, remote)).sha256).toBe(sha256(data));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(readFileSync(remote).equals(data)).toBe(true);
    expect(told.slice(0, 4)).toEqual(['ask stat', 'ask stat', 'ask stat', 'answer stat']);
    const fsync = told.indexOf('ask fsync');
    expect(told.slice(fsync, fsync + 2)).toEqual(['ask fsync', 'ask close']);
  });

  test('an existing file is replaced atomically, and a trailing / keeps the local name', async () => {
    const { data, local, remote } = randomFile(300_000);
    writeFileSync(remote, 'the old version\n');
    const connection = await connect();
    await uploadFile(connection, local, remote, { mode: 0o444 });
    expect(readFileSync(remote).equals(data)).toBe(true);
    expect(statSync(remote).mode & 0o777).toBe(0o444);

    const intoFolder = `${path.join(work, 'remote')}/`;
    await uploadFile(connection, local, intoFolder);
    expect(readFileSync(path.join(work, 'remote', 'local.bin')).equals(data)).toBe(true);
  });

  test('an empty file uploads too', async () => {
    const { local, remote } = randomFile(0);
    const connection = await connect();
    const result = await uploadFile(connection, local, remote);
    expect(result).toEqual({ bytes: 0, sha256: sha256(Buffer.alloc(0)), resumedFrom: 0 });
    expect(statSync(remote).size).toBe(0);
  });

  test('a write request is made in the buffer its chunk was read into, and full packets in buffers used again: few large allocations for 32 MiB', async () => {
    const { data, local, remote } = randomFile(32 * MiB);
    const connection = await connect();
    const allocUnsafe = vi.spyOn(Buffer, 'allocUnsafe');
    try {
      await uploadFile(connection, local, remote);
      // 128 write requests of 255 KiB (OpenSSH's largest) and 1,024 packets of 32 KiB were each a new Buffer before.
      const sizes = allocUnsafe.mock.calls.map(([size]) => size);
      // A buffer per request in flight (16), read into and sent from again and again.
      expect(sizes.filter((size) => size >= 64 * 1024).length).toBeLessThanOrEqual(32);
      // The packets the socket held at once, and those a window's end cut short.
      expect(sizes.filter((size) => size >= 32 * 1024 && size < 64 * 1024).length).toBeLessThan(300);
    } finally {
      allocUnsafe.mockRestore();
    }
    expect(readFileSync(remote).equals(data)).toBe(true);
  });

  test('a link cut half way fails with ConnectionLostError; the next upload on a new connection resumes and verifies', async () => {
    const { data, local, remote, part } = randomFile(8 * MiB);
    const relay = await TcpRelay.start(host.sshd.port);
    try {
      const viaRelay = await connect(relay.port);
      relay.cutAfterBytes(data.length / 2, 'toServer');
      const error = await uploadFile(viaRelay, local, remote).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConnectionLostError);
      expect((error as Error).message).toContain(part);
    } finally {
      await relay.close();
    }
    expect(existsSync(remote)).toBe(false);
    const kept = await settledSize(part);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(data.length);

    const progress: UploadProgress[] = [];
    const result = await uploadFile(await connect(), local, remote, { onProgress: (report) => progress.push(report) });
    expect(result.resumedFrom).toBe(kept);
    expect(result.sha256).toBe(sha256(data));
    expect(readFileSync(remote).equals(data)).toBe(true);
    expect(existsSync(part)).toBe(false);
    const firstSending = progress.find((report) => report.phase === 'sending');
    expect(firstSending).toMatchObject({ bytes: kept, resumedFrom: kept });
    // Only the kept part is hashed before sending, to compare it with the target's.
    const hashing = progress.filter((report) => report.phase === 'hashing');
    expect(hashing.at(-1)).toMatchObject({ bytes: kept, total: kept });
    expect(progress.indexOf(hashing.at(-1)!)).toBeLessThan(progress.indexOf(firstSending!));
  });

  test('a local file rewritten while it is sent is not put in place: the digest of what left vouches for no version of it', async () => {
    const { data, local, remote } = randomFile(32 * MiB);
    let rewritten = false;
    const error = await uploadFile(await connect(), local, remote, {
      onProgress: (progress) => {
        if (progress.phase === 'sending' && progress.bytes >= MiB && !rewritten) {
          rewritten = true;
          // The same size, another content, at its end (still to be sent).
          const changed = Buffer.from(data);
          changed[data.length - 1] = changed[data.length - 1]! ^ 0xff;
          writeFileSync(local, changed);
        }
      },
    }).catch((caught: unknown) => caught);
    expect(rewritten).toBe(true);
    expect((error as Error).message).toContain(`The local file ${local} changed while it was being uploaded`);
    expect(existsSync(remote)).toBe(false);
  });

  test('a partial file whose start differs from the local file is not trusted: the upload starts over', async () => {
    const { data, local, remote, part } = randomFile(2 * MiB);
    const wrong = Buffer.from(data.subarray(0, MiB));
    wrong[1000] = wrong[1000]! ^ 0xff;
    writeFileSync(part, wrong);
    const result = await uploadFile(await connect(), local, remote);
    expect(result.resumedFrom).toBe(0);
    expect(readFileSync(remote).equals(data)).toBe(true);
  });

  test('a partial file longer than the local file starts over; a complete one is only verified', async () => {
    const { data, local, remote, part } = randomFile(MiB);
    writeFileSync(part, Buffer.concat([data, Buffer.from('trailing junk')]));
    const connection = await connect();
    expect((await uploadFile(connection, local, remote)).resumedFrom).toBe(0);
    expect(readFileSync(remote).equals(data)).toBe(true);

    writeFileSync(part, data);
    expect((await uploadFile(connection, local, remote)).resumedFrom).toBe(data.length);
    expect(readFileSync(remote).equals(data)).toBe(true);
  });

  test('verification refuses a copy that does not match: no final file, both digests named', async () => {
    const { data, remote, part } = randomFile(100_000);
    writeFileSync(part, data);
    const expected = sha256(Buffer.concat([data, Buffer.from('x')]));
    const connection = await connect();
    const session = await SftpSession.open(connection);
    try {
      const error = await verifyAndPlace(connection, session, { partPath: part, finalPath: remote, expectedSha256: expected }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(UploadVerificationError);
      expect((error as Error).message).toContain(expected);
      expect((error as Error).message).toContain(sha256(data));
      expect(existsSync(remote)).toBe(false);
      expect(existsSync(part)).toBe(false);

      // And a matching one is put in place with its mode.
      writeFileSync(part, data);
      await verifyAndPlace(connection, session, { partPath: part, finalPath: remote, expectedSha256: sha256(data), mode: 0o600 });
      expect(readFileSync(remote).equals(data)).toBe(true);
      expect(statSync(remote).mode & 0o777).toBe(0o600);
    } finally {
      session.end();
    }
  });

  test('abort stops promptly and keeps the partial file; the next upload resumes from it', async () => {
    const { data, local, remote, part } = randomFile(64 * MiB);
    const connection = await connect();
    const controller = new AbortController();
    let abortedAt = 0;
    const running = uploadFile(connection, local, remote, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.phase === 'sending' && progress.bytes >= 8 * MiB && !abortedAt) {
          abortedAt = Date.now();
          controller.abort();
        }
      },
    });
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - abortedAt).toBeLessThan(500);
    const kept = await settledSize(part);
    expect(kept).toBeGreaterThanOrEqual(8 * MiB);
    expect(kept).toBeLessThan(data.length);
    expect(existsSync(remote)).toBe(false);

    // The same connection still works, and the partial file is picked up.
    const result = await uploadFile(connection, local, remote);
    expect(result.resumedFrom).toBe(kept);
    expect(sha256(await readFile(remote))).toBe(sha256(data));
  });

  test('an upload whose signal is already aborted does nothing', async () => {
    const { local, remote, part } = randomFile(1000);
    const controller = new AbortController();
    controller.abort();
    await expect(uploadFile(await connect(), local, remote, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(existsSync(part)).toBe(false);
  });

  test('a missing local file and a missing remote folder are plain errors', async () => {
    const connection = await connect();
    const missing = path.join(work, 'no-such-file.tar');
    await expect(uploadFile(connection, missing, path.join(work, 'x'))).rejects.toThrow(`The local file ${missing} does not exist.`);

    const { local } = randomFile(10);
    const folder = path.join(work, 'no', 'such', 'folder');
    await expect(uploadFile(connection, local, path.join(folder, 'file'))).rejects.toThrow(
      `The remote folder ${folder} does not exist on dragon; create it first or correct the path.`,
    );
    expect(connection.isAlive).toBe(true);
  });

  test('a folder that cannot be written into is a plain error', async () => {
    const { local } = randomFile(10);
    const folder = path.join(work, 'locked');
    mkdirSync(folder);
    // The SFTP server runs without root's permission override (see Sshd.start above).
    chmodSync(folder, 0o555);
    try {
      await expect(uploadFile(await connect(), local, path.join(folder, 'file'))).rejects.toThrow(
        `Cannot write into the remote folder ${folder} on dragon: permission denied for ${path.join(folder, 'file')}${PART_SUFFIX}.`,
      );
    } finally {
      chmodSync(folder, 0o755);
    }
  });

  test('a remote path that is a folder is refused', async () => {
    const { local } = randomFile(10);
    const folder = path.join(work, 'remote');
    await expect(uploadFile(await connect(), local, folder)).rejects.toThrow(`${folder} on dragon is a folder`);
  });
});

function phaseOrder(a: string, b: string): number {
  const order = ['hashing', 'sending', 'verifying'];
  return order.indexOf(a) - order.indexOf(b);
}

describeWithSshd('uploads to a server without SFTP', () => {
  const host = withSshd({}, { home: 'suite' });

  beforeAll(async () => {
    // The harness always enables sftp-server; this server has no Subsystem line at all.
    const config = await readFile(host.sshd.configFile, 'utf8');
    await writeFile(host.sshd.configFile, config.replace(/^Subsystem sftp .*$/m, ''));
    await host.sshd.restart();
  });

  test('the SFTP session is refused as "no SFTP server", and the upload goes over a shell stream instead, said once', async () => {
    const connection = await openTestConnection(host.sshd, host.home);
    try {
      await expect(SftpSession.open(connection)).rejects.toBeInstanceOf(NoSftpServerError);
      const local = path.join(host.home, 'small.bin');
      const data = randomBytes(20_000);
      writeFileSync(local, data);
      const target = path.join(mkdtempSync(path.join(tmpdir(), 'ns-nosftp-')), 'arrived.bin');
      const notices: string[] = [];
      const result = await uploadFile(connection, local, target, { onNotice: (text) => notices.push(text) });
      expect(result).toEqual({ bytes: data.length, sha256: sha256(data), resumedFrom: 0 });
      expect(sha256(readFileSync(target))).toBe(sha256(data));
      expect(notices).toEqual(['nightshift: no SFTP server on dragon: uploading over a shell stream instead']);
      rmSync(path.dirname(target), { recursive: true, force: true });
    } finally {
      await connection.close();
    }
  });

  test('refused SFTP sessions do not use up the connection: sshd allows 10 sessions (MaxSessions), 12 uploads in a row all arrive', async () => {
    const connection = await openTestConnection(host.sshd, host.home);
    const folder = mkdtempSync(path.join(tmpdir(), 'ns-nosftp-'));
    try {
      const local = path.join(host.home, 'many.bin');
      const data = randomBytes(5000);
      writeFileSync(local, data);
      for (let index = 0; index < 12; index++) {
        const target = path.join(folder, `arrived-${index}.bin`);
        await uploadFile(connection, local, target);
        expect(sha256(readFileSync(target))).toBe(sha256(data));
      }
    } finally {
      await connection.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

// A PATH with what the launcher and a shell need, and none of openssl, sha256sum or shasum.
const toolsWithoutHashing = mkdtempSync(path.join(tmpdir(), 'ns-nohash-path-'));
for (const tool of ['head', 'dd', 'cat', 'mv', 'rm', 'mkdir']) symlinkSync(`/usr/bin/${tool}`, path.join(toolsWithoutHashing, tool));

describeWithSshd('uploads to a host with no tool to hash with', () => {
  const host = withSshd({ env: { PATH: toolsWithoutHashing } }, { home: 'suite' });
  afterAll(() => rmSync(toolsWithoutHashing, { recursive: true, force: true }));

  test('the upload fails, naming what to install, and nothing takes the final name', async () => {
    const connection = await openTestConnection(host.sshd, host.home);
    try {
      const local = path.join(host.home, 'big.bin');
      writeFileSync(local, randomBytes(16 * MiB));
      const target = path.join(mkdtempSync(path.join(tmpdir(), 'ns-nohash-')), 'arrived.bin');
      await expect(uploadFile(connection, local, target)).rejects.toThrow(
        'dragon has none of sha256sum, shasum or openssl, so the upload cannot be verified there; install coreutils or openssl.',
      );
      expect(existsSync(target)).toBe(false);
    } finally {
      await connection.close();
    }
  });
});
