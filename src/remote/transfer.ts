// Uploading a file so that it can be trusted at 3 AM: the bytes go to <name>.nightshift-part,
// are hashed on the target and compared with the digest of what was sent (taken as it
// left), and only then take the final name (atomically). A partial file left by a dropped
// link or an abort is reused when the target's copy of its bytes matches the local file's
// start. Over SFTP when the host has a server, else over shell commands (transfer-exec.ts),
// with the same checks.
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Stats } from 'ssh2';
import type { Connection } from './connection.js';
import { abortError, ConnectionLostError, untilAborted } from './errors.js';
import { resumePoint, ShellPart } from './transfer-exec.js';
import { placeRemoteCopy, verifyRemoteCopy, type PlaceOptions } from './transfer-finish.js';
import { expectUnchanged, fileStateOf, hashLocalPrefix, type LocalFileState } from './transfer-local-hash.js';
import type { UploadOptions, UploadResult } from './transfer-options.js';
import { ProgressReporter } from './transfer-progress.js';
import { checkRemoteHashTool, hashRemoteFile, NoHashToolError, startRemoteHash, type WaitingRemoteHash } from './transfer-remote-hash.js';
import { sendRange } from './transfer-send.js';
import { isSftpCode, NoSftpServerError, SFTP_NO_SUCH_FILE, SFTP_PERMISSION_DENIED, SftpSession } from './transfer-sftp.js';

export type { UploadPhase, UploadProgress } from './transfer-progress.js';
export { UploadVerificationError, verifyAndPlace } from './transfer-finish.js';
export type { UploadOptions, UploadResult } from './transfer-options.js';

export const PART_SUFFIX = '.nightshift-part';
/** Capped at the server's largest write (OpenSSH: 255 KiB, by limits@openssh.com): ssh2 would split a bigger one into round trips one after the other. */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
/** About this much is kept in flight (4 MiB: twice the window OpenSSH's sshd gives a session channel). */
const BYTES_IN_FLIGHT = 4 * 1024 * 1024;
const MIN_REQUESTS_IN_FLIGHT = 16;
const MAX_REQUESTS_IN_FLIGHT = 64;
const MIN_CHUNK_SIZE = 4 * 1024;
const PRIVATE_PART_MODE = 0o600;
/** How long an upload waits for the server to close the SFTP channel (see SftpSession.endAndWait). */
const SFTP_CLOSE_WAIT_MS = 2000;

/** The uploads (by their options, the same object through HostPool's resumes) that already said they go over a shell stream. */
const toldShellStream = new WeakSet<UploadOptions>();

/**
 * Uploads `localPath` to `remotePath` on the connection's host (a trailing / keeps the
 * local file name). Rejects with a ConnectionLostError when the link drops (calling again
 * on a new connection resumes), an AbortError when aborted, an UploadVerificationError when
 * the target's copy does not match.
 */
export function uploadFile(connection: Connection, localPath: string, remotePath: string, options: UploadOptions = {}): Promise<UploadResult> {
  const finalPath = remotePath.endsWith('/') ? `${remotePath}${path.basename(localPath)}` : remotePath;
  const upload = new Upload(connection, localPath, finalPath, options);
  return untilAborted(upload.run(), options.signal);
}

class Upload {
  private readonly partPath: string;
  private readonly where: string;
  private session: SftpSession | undefined;
  private localFile: FileHandle | undefined;
  /** The local file as it was opened: it must be the same once sent. */
  private localState: LocalFileState | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly localPath: string,
    private readonly finalPath: string,
    private readonly options: UploadOptions,
  ) {
    this.partPath = `${finalPath}${PART_SUFFIX}`;
    this.where = connection.host.name;
  }

  async run(): Promise<UploadResult> {
    const { signal } = this.options;
    if (signal?.aborted) throw abortError();
    try {
      const size = await this.openLocalFile();
      const session = await this.openSftp();
      if (!session) return await this.runOverShell(size);
      // Asked together: over a long link each answer waited for costs a round trip.
      const [folder, target, existing] = await Promise.all([
        session.stat(path.posix.dirname(this.finalPath)),
        session.stat(this.finalPath),
        session.stat(this.partPath),
      ]);
      this.checkRemoteFolder(folder, target);
      const { from, hash, handle } = await this.prepare(session, size, existing);
      const targetHash = startRemoteHash(this.connection, this.partPath, signal);
      let place: PlaceOptions;
      try {
        const chunkSize = Math.max(MIN_CHUNK_SIZE, Math.min(this.options.chunkSize ?? DEFAULT_CHUNK_SIZE, session.maxWriteLength));
        place = await this.sendWithProgress(new ProgressReporter(size, this.options.onProgress), { from, size }, hash, (onChunk, onBytes) =>
          this.sendWhileTargetGetsReady(targetHash, (sending) =>
            sendRange({
              session,
              remoteHandle: handle,
              localFile: this.localFile as FileHandle,
              localPath: this.localPath,
              from,
              to: size,
              chunkSize,
              requestsInFlight: this.options.requestsInFlight ?? defaultRequestsInFlight(chunkSize),
              signal: sending,
              onChunk,
              onBytes,
            }),
          ),
        );
      } catch (error) {
        targetHash.cancel();
        throw error;
      }
      // The target hashes from its page cache while the disk catches up: both must be done before the rename.
      await Promise.all([
        // Asked back to back: a server with fsync@openssh.com is OpenSSH's sftp-server, which
        // handles requests in order, so the close follows the fsync.
        Promise.all([session.fsync(handle), session.close(handle)]),
        verifyRemoteCopy(this.connection, session, place, () => this.targetDigest(targetHash)),
      ]);
      await placeRemoteCopy(this.connection, session, place);
      return { bytes: size, sha256: place.expectedSha256, resumedFrom: from };
    } catch (error) {
      throw this.describe(error);
    } finally {
      // Ending the channel drops writes still queued: the abort is prompt, the partial file stays.
      // Neither the step nor the run's end waits for the server's close (a round trip): a
      // command asked for meanwhile, which dropbear may refuse (SftpSession.endAndWait), is
      // asked again (exec.ts).
      if (this.session && this.connection.isAlive && !this.options.signal?.aborted) void this.session.endAndWait(SFTP_CLOSE_WAIT_MS);
      else this.session?.end();
      await this.localFile?.close().catch(() => undefined);
    }
  }

  private async openLocalFile(): Promise<number> {
    try {
      this.localFile = await open(this.localPath, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new Error(`The local file ${this.localPath} does not exist.`);
      if (code === 'EACCES') throw new Error(`The local file ${this.localPath} cannot be read: permission denied.`);
      throw new Error(`Cannot read the local file ${this.localPath}: ${(error as Error).message}.`);
    }
    const stats = await this.localFile.stat({ bigint: true });
    if (!stats.isFile()) throw new Error(`${this.localPath} is not a regular file, so it cannot be uploaded.`);
    this.localState = fileStateOf(stats);
    return this.localState.size;
  }

  private checkRemoteFolder(folderStats: Stats | null, target: Stats | null): void {
    const folder = path.posix.dirname(this.finalPath);
    if (!folderStats) throw new Error(`The remote folder ${folder} does not exist on ${this.where}; create it first or correct the path.`);
    if (!folderStats.isDirectory()) throw new Error(`${folder} on ${this.where} is not a folder, so ${this.finalPath} cannot be written.`);
    if (target?.isDirectory()) {
      throw new Error(`${this.finalPath} on ${this.where} is a folder; give the file's full path (or end it with / to keep the local name).`);
    }
  }

  /**
   * Opens the partial file (creating it, which also proves the folder is writable) and
   * decides where sending starts: after the part kept from an earlier attempt when it
   * matches the local file's start, with the hash of that start to go on from.
   */
  private async prepare(session: SftpSession, size: number, existing: Stats | null): Promise<{ from: number; hash: Hash; handle: Buffer }> {
    const candidate = existing?.isFile() && existing.size > 0 && existing.size <= size ? existing.size : 0;
    let handle = await this.openPart(session, existing ? 'r+' : 'w');
    const { from, hash } = candidate > 0 ? await this.compareKeptPart(candidate) : { from: 0, hash: createHash('sha256') };
    if (from === 0 && existing) {
      // Not trusted (or not usable): start over from an empty file.
      await session.close(handle);
      handle = await this.openPart(session, 'w');
    }
    return { from, hash, handle };
  }

  /**
   * Hashes the local file's first `kept` bytes and the target's copy of them: `from` is
   * `kept` when both match (with the local hash to go on from), else 0 (with a fresh hash).
   */
  private async compareKeptPart(kept: number): Promise<{ from: number; hash: Hash }> {
    const { signal } = this.options;
    const progress = new ProgressReporter(kept, this.options.onProgress);
    progress.start('hashing');
    // Either side failing stops the other.
    const both = new AbortController();
    const stopBoth = () => both.abort();
    signal?.addEventListener('abort', stopBoth, { once: true });
    const hashing = hashLocalPrefix(this.localFile as FileHandle, kept, { signal: both.signal, onBytes: (bytes) => progress.advance(bytes) });
    const asking = hashRemoteFile(this.connection, this.partPath, { prefixLength: kept, signal: both.signal });
    hashing.catch(stopBoth);
    asking.catch(stopBoth);
    const [local, remote] = await Promise.all([hashing, asking]).finally(() => signal?.removeEventListener('abort', stopBoth));
    progress.flush();
    if (local.bytes === kept && remote === local.hash.copy().digest('hex')) return { from: kept, hash: local.hash };
    return { from: 0, hash: createHash('sha256') };
  }

  /**
   * Sends while the target's hashing command starts: a target without a tool to hash with
   * stops the sending at once (nothing could be verified), with that as the error.
   */
  private async sendWhileTargetGetsReady(targetHash: WaitingRemoteHash, send: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const stop = new AbortController();
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, stop.signal]) : stop.signal;
    let cannotVerify: unknown;
    targetHash.toolFound.catch((error: unknown) => {
      if (error instanceof NoHashToolError) {
        cannotVerify = error;
        stop.abort();
      }
    });
    try {
      await send(signal);
    } catch (error) {
      throw cannotVerify ?? error;
    }
  }

  /**
   * The target's digest of the partial file from the command started with the sending; when
   * that one could not start or answer (a server refusing a second channel), from a command
   * of its own, started now.
   */
  private async targetDigest(targetHash: WaitingRemoteHash): Promise<string> {
    try {
      return await targetHash.hash();
    } catch (error) {
      const name = (error as Error).name;
      if (error instanceof NoHashToolError || name === 'AbortError' || name === 'ConnectionLostError' || !this.connection.isAlive) throw error;
      const { signal } = this.options;
      return await hashRemoteFile(this.connection, this.partPath, signal ? { signal } : {});
    }
  }

  /** An SFTP session, or null (said once per upload) when the host has no SFTP server. */
  private async openSftp(): Promise<SftpSession | null> {
    try {
      return (this.session = await SftpSession.open(this.connection));
    } catch (error) {
      if (!(error instanceof NoSftpServerError)) throw error;
      if (!toldShellStream.has(this.options)) {
        toldShellStream.add(this.options);
        this.options.onNotice?.(`nightshift: no SFTP server on ${this.where}: uploading over a shell stream instead`);
      }
      return null;
    }
  }

  /**
   * The sending, hashing each chunk as it leaves, the progress ticking each second, and the
   * start of the verifying; returns what verifying and placing the copy take.
   */
  private async sendWithProgress(
    progress: ProgressReporter,
    range: { from: number; size: number },
    hash: Hash,
    sendBytes: (onChunk: (bytes: Buffer) => void, onBytes: (bytes: number) => void) => Promise<void>,
  ): Promise<PlaceOptions> {
    const { signal } = this.options;
    progress.setResumedFrom(range.from);
    progress.start('sending', range.from);
    const ticker = setInterval(() => progress.tick(), 1000);
    try {
      await sendBytes(
        (bytes) => hash.update(bytes),
        (bytes) => progress.advance(bytes),
      );
    } finally {
      clearInterval(ticker);
    }
    progress.flush();
    // The digest is of the bytes that left: they are one version of the file only if it did not change meanwhile.
    await expectUnchanged(this.localFile as FileHandle, this.localPath, this.localState as LocalFileState);

    progress.start('verifying', range.size);
    return {
      partPath: this.partPath,
      finalPath: this.finalPath,
      expectedSha256: hash.digest('hex'),
      ...(this.options.mode === undefined ? {} : { mode: this.options.mode }),
      ...(signal ? { signal } : {}),
    };
  }

  /** The upload without SFTP: the same steps, the partial file written by shell commands (transfer-exec.ts). */
  private async runOverShell(size: number): Promise<UploadResult> {
    const { signal } = this.options;
    const part = new ShellPart(this.connection, this.partPath, this.finalPath);
    const { partSize } = await part.inspect(path.posix.dirname(this.finalPath), signal);
    const candidate = partSize !== null && partSize <= size ? resumePoint(partSize) : 0;
    const privatePart = this.options.mode !== undefined;
    // Created first when it will not be reused: that also proves the folder is writable before the hashing.
    if (candidate === 0) await part.startEmpty(privatePart, signal);
    // One command at a time here (see below): the tool is looked for before sending, not beside it.
    const { from, hash } = candidate > 0 ? await this.compareKeptPart(candidate) : await this.freshAfterToolCheck();
    if (from === 0 && candidate > 0) await part.startEmpty(privatePart, signal);

    const place = await this.sendWithProgress(new ProgressReporter(size, this.options.onProgress), { from, size }, hash, (onChunk, onBytes) =>
      part.send({
        localFile: this.localFile as FileHandle,
        localPath: this.localPath,
        from,
        to: size,
        ...(signal ? { signal } : {}),
        onChunk,
        onBytes,
      }),
    );
    // transfer-finish.ts asks an SFTP session for chmod, unlink and rename; these do them with shell commands.
    const finishing = part.finishing as unknown as SftpSession;
    // One after the other: dropbear may refuse a command started while another one ends (transfer-exec.ts).
    await part.sync(signal);
    await verifyRemoteCopy(this.connection, finishing, place);
    await placeRemoteCopy(this.connection, finishing, place);
    return { bytes: size, sha256: place.expectedSha256, resumedFrom: from };
  }

  private async freshAfterToolCheck(): Promise<{ from: number; hash: Hash }> {
    await checkRemoteHashTool(this.connection, this.options.signal);
    return { from: 0, hash: createHash('sha256') };
  }

  private async openPart(session: SftpSession, flags: 'r+' | 'w'): Promise<Buffer> {
    try {
      // With a mode asked for, the partial file stays private (and writable for a resume) until verified.
      return await session.open(this.partPath, flags, this.options.mode === undefined ? undefined : PRIVATE_PART_MODE);
    } catch (error) {
      const folder = path.posix.dirname(this.finalPath);
      if (isSftpCode(error, SFTP_PERMISSION_DENIED)) {
        throw new Error(`Cannot write into the remote folder ${folder} on ${this.where}: permission denied for ${this.partPath}.`);
      }
      if (isSftpCode(error, SFTP_NO_SUCH_FILE)) throw new Error(`The remote folder ${folder} does not exist on ${this.where}.`);
      throw error;
    }
  }

  private describe(error: unknown): unknown {
    if (error instanceof Error && error.name === 'AbortError') return error;
    if (!this.connection.isAlive) {
      const { host } = this.connection;
      return new ConnectionLostError(
        `The connection to ${host.name} (${host.address}:${host.port}) dropped while uploading ${this.localPath}; ` +
          `what arrived is kept in ${this.partPath}, and uploading again resumes from there.`,
      );
    }
    if (error instanceof Error && typeof (error as Error & { code?: unknown }).code === 'number') {
      return new Error(`Uploading ${this.localPath} to ${this.finalPath} on ${this.where} failed: ${error.message}.`, { cause: error });
    }
    return error;
  }
}

function defaultRequestsInFlight(chunkSize: number): number {
  return Math.min(MAX_REQUESTS_IN_FLIGHT, Math.max(MIN_REQUESTS_IN_FLIGHT, Math.ceil(BYTES_IN_FLIGHT / chunkSize)));
}
