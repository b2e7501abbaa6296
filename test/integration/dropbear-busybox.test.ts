// nightshift against a real dropbear in a BusyBox-only environment (login shell, /bin/sh and
// every tool on PATH are BusyBox applets), with and without an SFTP server, and against an
// OpenSSH sshd that offers no sftp subsystem: steps run attached and detached, checks run to
// their end mark, and uploads arrive sha256-checked, over SFTP when there is a server and
// over a shell stream (resumable) when there is none.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostPool } from '../../src/remote/host-pool.js';
import type { UploadProgress } from '../../src/remote/transfer.js';
import type { PreflightCheck } from '../../src/runbook/types.js';
import { checkScript, judgeCheck } from '../../src/runner/preflight-checks.js';
import { Dropbear, dropbearInstalled } from '../support/dropbear.js';
import { makeHome, removeHome, run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { withSshd } from '../support/with-sshd.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'ns-dropbear-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const id = () => randomBytes(4).toString('hex');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A local file of `size` random bytes (every byte value, NULs and newlines included). */
function localFile(size: number, name = `data-${id()}.bin`): { file: string; data: Buffer } {
  const data = randomBytes(size);
  const file = path.join(scratch, name);
  writeFileSync(file, data);
  return { file, data };
}

/** sha256 and size of a file on the host, computed there with BusyBox's tools. */
async function remoteDigest(pool: HostPool, remotePath: string): Promise<{ sha256: string; size: number }> {
  const quoted = `'${remotePath.replace(/'/g, `'\\''`)}'`;
  const answer = await run(pool, `sha256sum < ${quoted} && wc -c < ${quoted}`);
  expect(answer.exitCode, answer.stderr).toBe(0);
  const [digest, size] = answer.stdout.trim().split('\n');
  return { sha256: (digest ?? '').split(' ')[0] ?? '', size: Number(size) };
}

if (!dropbearInstalled()) {
  throw new Error('These tests need /usr/sbin/dropbear, /usr/bin/dropbearkey and /bin/busybox (Debian packages dropbear-bin and busybox).');
}

describe('dropbear in a BusyBox-only environment, with an SFTP server', () => {
  let dropbear: Dropbear;
  let home: string;
  let pool: HostPool;

  beforeAll(async () => {
    dropbear = await Dropbear.start();
    home = makeHome();
    pool = dropbear.pool(home);
  });
  afterAll(async () => {
    await pool?.close();
    await dropbear?.stop();
    if (home) removeHome(home);
  });

  it('is that host: dropbear, BusyBox ash as login shell and /bin/sh, BusyBox applets only on PATH', async () => {
    const probe = await run(
      pool,
      'echo "$SHELL"; readlink -f /bin/sh; for t in cat dd sha256sum mv; do readlink -f "$(command -v $t)"; done; ls /usr/local/bin | wc -l; /bin/sh --help 2>&1 | head -n 1',
    );
    const busybox = path.join(dropbear.dir, 'busybox');
    expect(probe.stdout.split('\n')).toEqual([
      path.join(dropbear.appletsDir, 'ash'),
      busybox,
      busybox,
      busybox,
      busybox,
      busybox,
      '0',
      expect.stringMatching(/^BusyBox v/),
      '',
    ]);
    const server = await run(pool, 'echo "$SSH_CONNECTION"; cat /proc/$PPID/comm');
    expect(server.stdout.split('\n')[1]).toBe('dropbear');
  });

  it('runs a step attached, with its output and exit status', async () => {
    const result = await run(pool, 'printf "out\\n"; printf "err\\n" >&2; exit 3');
    expect(result).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
  });

  it('runs a step detached and collects its output and status', async () => {
    const stdout: Buffer[] = [];
    const result = await pool.runDetached('dragon', 'echo detached-$((6*7)); exit 4', {
      runId: `db-${id()}/step.1`,
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: () => undefined,
    });
    expect(result).toEqual({ exitCode: 4 });
    expect(Buffer.concat(stdout).toString()).toBe('detached-42\n');
  });

  it('runs a check to its end mark and judges it', async () => {
    const check: PreflightCheck = { kind: 'mem_available', bytes: 1024, size: '1K' };
    const result = await run(pool, checkScript(check));
    expect(result.stdout).toMatch(/end=ok\n$/);
    expect(judgeCheck(check, result.stdout)).toMatchObject({ ok: true });
  });

  it('uploads over SFTP, sha256 checked, with no notice about a fallback', async () => {
    const { file, data } = localFile(3 * 1024 * 1024 + 17);
    const notices: string[] = [];
    const target = path.join(dropbear.homeDir, `up-${id()}.bin`);
    const result = await pool.upload('dragon', file, target, { mode: 0o640, onNotice: (text) => notices.push(text) });
    expect(result).toMatchObject({ bytes: data.length, sha256: sha256(data), resumedFrom: 0 });
    expect(await remoteDigest(pool, target)).toEqual({ sha256: sha256(data), size: data.length });
    expect((await run(pool, `stat -c %a '${target}'`)).stdout.trim()).toBe('640');
    expect(notices).toEqual([]);
  });
  it('uploads over SFTP while other commands start and end on the host (dropbear refuses some channels then), without falling back', async () => {
    const { file, data } = localFile(2 * 1024 * 1024);
    const target = path.join(dropbear.homeDir, `busy-${id()}.bin`);
    const notices: string[] = [];
    let uploading = true;
    const refused: string[] = [];
    const noise = async () => {
      while (uploading) await run(pool, 'true').catch((error: Error) => refused.push(error.message));
    };
    const noisy = [noise(), noise(), noise()];
    const upload = pool.upload('dragon', file, target, { onNotice: (text) => notices.push(text) }).finally(() => (uploading = false));
    await Promise.all(noisy);
    expect((await upload).sha256).toBe(sha256(data));
    // Dropbear may even end the whole connection under such churn (mkj/dropbear#321): then the upload resumes on a new one.
    expect(notices.filter((text) => !/link to dragon dropped|reconnected to dragon/.test(text))).toEqual([]);
    expect(await remoteDigest(pool, target)).toEqual({ sha256: sha256(data), size: data.length });
  });
});

describe('dropbear in a BusyBox-only environment, without an SFTP server', () => {
  let dropbear: Dropbear;
  let relay: TcpRelay;
  let home: string;
  let pool: HostPool;

  beforeAll(async () => {
    dropbear = await Dropbear.start({ sftpServer: false });
    relay = await TcpRelay.start(dropbear.port);
    home = makeHome();
    pool = dropbear.pool(home, { port: relay.port });
  });
  afterAll(async () => {
    await pool?.close();
    await relay?.close();
    await dropbear?.stop();
    if (home) removeHome(home);
  });

  it('is that host: the sftp subsystem is not found (exit 127)', async () => {
    const result = await run(pool, '/usr/lib/sftp-server </dev/null');
    expect(result.exitCode).toBe(127);
  });

  it('uploads over a shell stream instead, says so once, reports progress and checks the sha256 on the host', async () => {
    const { file, data } = localFile(700 * 1024 + 5);
    const notices: string[] = [];
    const progress: UploadProgress[] = [];
    const target = path.join(dropbear.homeDir, `up-${id()}.bin`);
    const result = await pool.upload('dragon', file, target, {
      mode: 0o600,
      onNotice: (text) => notices.push(text),
      onProgress: (update) => progress.push({ ...update }),
    });
    expect(result).toEqual({ bytes: data.length, sha256: sha256(data), resumedFrom: 0 });
    expect(await remoteDigest(pool, target)).toEqual({ sha256: sha256(data), size: data.length });
    expect((await run(pool, `stat -c %a '${target}'; ls '${target}.nightshift-part' 2>&1 | grep -c 'No such'`)).stdout).toBe('600\n1\n');
    expect(notices).toEqual(['nightshift: no SFTP server on dragon: uploading over a shell stream instead']);
    const sending = progress.filter((update) => update.phase === 'sending');
    expect(sending.at(-1)?.bytes).toBe(data.length);
    expect(progress.some((update) => update.phase === 'verifying')).toBe(true);
  });

  it('resumes over the stream after the link was cut, from the bytes already on the host', async () => {
    const { file, data } = localFile(2 * 1024 * 1024 + 333);
    const notices: string[] = [];
    const target = path.join(dropbear.homeDir, `resume-${id()}.bin`);
    relay.cutAfterBytes(900 * 1024, 'toServer');
    const result = await pool.upload('dragon', file, target, { onNotice: (text) => notices.push(text) });
    expect(result.bytes).toBe(data.length);
    expect(result.sha256).toBe(sha256(data));
    expect(result.resumedFrom).toBeGreaterThan(0);
    expect(result.resumedFrom).toBeLessThan(data.length);
    expect(await remoteDigest(pool, target)).toEqual({ sha256: sha256(data), size: data.length });
    expect(notices.filter((text) => text.includes('no SFTP server'))).toHaveLength(1);
    expect(notices).toContain('nightshift: the link to dragon dropped during the upload; reconnecting to resume it');
  });

  it('an abort stops the stream and keeps what arrived; the next upload resumes from it', async () => {
    const { file, data } = localFile(1536 * 1024);
    const target = path.join(dropbear.homeDir, `abort-${id()}.bin`);
    const abort = new AbortController();
    await expect(
      pool.upload('dragon', file, target, {
        signal: abort.signal,
        onProgress: (update) => {
          if (update.phase === 'sending' && update.bytes >= 400 * 1024) abort.abort();
        },
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect((await remoteDigest(pool, `${target}.nightshift-part`)).size).toBeGreaterThan(0);
    const result = await pool.upload('dragon', file, target);
    expect(result.resumedFrom % 4096).toBe(0);
    expect(result.resumedFrom).toBeGreaterThan(0);
    expect(await remoteDigest(pool, target)).toEqual({ sha256: sha256(data), size: data.length });
  });

  it('a copy that does not match is removed and never takes the name', async () => {
    const { file, data } = localFile(200 * 1024);
    const target = path.join(dropbear.homeDir, `changed-${id()}.bin`);
    let damaged = false;
    const upload = pool.upload('dragon', file, target, {
      onProgress: (update) => {
        // Everything arrived, nothing hashed there yet: the target's copy loses a byte's worth.
        if (update.phase === 'verifying' && !damaged) {
          damaged = true;
          const part = `${target}.nightshift-part`;
          const copy = readFileSync(part);
          copy[copy.length >> 1] = copy[copy.length >> 1]! ^ 0xff;
          writeFileSync(part, copy);
        }
      },
    });
    await expect(upload).rejects.toMatchObject({ name: 'UploadVerificationError', expectedSha256: sha256(data) });
    const left = await run(pool, `ls '${target}' '${target}.nightshift-part' 2>&1 | grep -c 'No such'`);
    expect(left.stdout.trim()).toBe('2');
  });

  it('an upload and other commands go through while commands start and end on the host (dropbear refuses some channels then)', async () => {
    const { file, data } = localFile(1024 * 1024 + 9);
    const target = path.join(dropbear.homeDir, `busy-${id()}.bin`);
    let uploading = true;
    const refused: string[] = [];
    const noise = async () => {
      while (uploading) {
        await run(pool, 'true').catch((error: Error) => refused.push(error.message));
      }
    };
    const noisy = [noise(), noise(), noise()];
    const upload = pool.upload('dragon', file, target).finally(() => (uploading = false));
    await Promise.all(noisy);
    expect((await upload).sha256).toBe(sha256(data));
    expect(await remoteDigest(pool, target)).toEqual({ sha256: sha256(data), size: data.length });
    // dropbear refuses some of these channels (mkj/dropbear#173): each refused exec request is
    // asked for again, so no command fails for it (under such churn dropbear may still drop the
    // whole connection, mkj/dropbear#321: a command on it then fails as one on any lost link).
    const notStarted = refused.filter((message) => !/dropped/.test(message));
    expect(notStarted, refused.join('\n')).toEqual([]);
  });

  it('does not trust a partial file that differs from the local start: it starts over and the copy still verifies', async () => {
    const { file, data } = localFile(100 * 1024);
    const target = path.join(dropbear.homeDir, `bad-${id()}.bin`);
    dropbear.inNamespace(`head -c 51200 /dev/urandom > '${target}.nightshift-part'`);
    const result = await pool.upload('dragon', file, target);
    expect(result.resumedFrom).toBe(0);
    expect(await remoteDigest(pool, target)).toEqual({ sha256: sha256(data), size: data.length });
  });

  it('uploads a file whose names have spaces, quotes, $ and a leading dash', async () => {
    const { file, data } = localFile(40 * 1024 + 3, `local 'name' "q" $x.bin`);
    const folder = path.join(dropbear.homeDir, `it's a "folder" $HOME`);
    dropbear.inNamespace(`mkdir -p '${folder.replace(/'/g, `'\\''`)}'`);
    const target = `${folder}/-odd 'file' "name" \`x\`.bin`;
    const result = await pool.upload('dragon', file, target, { mode: 0o640 });
    expect(result.sha256).toBe(sha256(data));
    expect(await remoteDigest(pool, target)).toEqual({ sha256: sha256(data), size: data.length });
    expect((await run(pool, `stat -c %a '${target.replace(/'/g, `'\\''`)}'`)).stdout.trim()).toBe('640');
  });

  it('an empty file arrives as an empty file', async () => {
    const { file } = localFile(0);
    const target = path.join(dropbear.homeDir, `empty-${id()}.bin`);
    const result = await pool.upload('dragon', file, target);
    expect(result).toMatchObject({ bytes: 0, resumedFrom: 0 });
    expect(await remoteDigest(pool, target)).toEqual({ sha256: sha256(Buffer.alloc(0)), size: 0 });
  });

  it('says which folder is missing', async () => {
    const { file } = localFile(10);
    await expect(pool.upload('dragon', file, path.join(dropbear.homeDir, 'no-such-folder', 'x.bin'))).rejects.toThrow(
      /The remote folder .*no-such-folder does not exist on dragon/,
    );
  });
});

describeWithSshd('an OpenSSH sshd without an sftp subsystem', () => {
  const host = withSshd({}, { pool: true });

  beforeAll(async () => {
    // The harness's Subsystem line removed: sshd refuses the subsystem request.
    writeFileSync(host.sshd.configFile, readFileSync(host.sshd.configFile, 'utf8').replace(/^Subsystem .*$/m, ''));
    await host.sshd.restart();
  });

  it('uploads over a shell stream, says so once, and the copy verifies', async () => {
    const { file, data } = localFile(300 * 1024 + 1);
    const folder = mkdtempSync(path.join(scratch, 'target-'));
    const target = path.join(folder, 'x.bin');
    const notices: string[] = [];
    const result = await host.pool.upload('dragon', file, target, { onNotice: (text) => notices.push(text) });
    expect(result.sha256).toBe(sha256(data));
    expect(sha256(readFileSync(target))).toBe(sha256(data));
    expect(notices).toEqual(['nightshift: no SFTP server on dragon: uploading over a shell stream instead']);
  });
});
