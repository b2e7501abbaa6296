// An SFTP session on a connection, as promises. Calls made after the session ended fail at
// once: ssh2 would silently drop them and never call back.
import type { OpenMode, SFTPWrapper, Stats } from 'ssh2';
import type { Connection } from './connection.js';
import { ConnectionLostError, isNotConnected } from './errors.js';
import { withFirstAllocation } from './first-allocation.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02) carried in ssh2's error.code. */
export const SFTP_NO_SUCH_FILE = 2;
export const SFTP_PERMISSION_DENIED = 3;

/** What ssh2 keeps private but an uploader needs: the extensions and the largest write the server takes in one request. */
interface SftpInternals {
  _extensions?: Record<string, string>;
  _maxWriteLen?: number;
}

/** ssh2's channel table, to close the channel of a refused subsystem request, which ssh2 leaves open; its socket, to batch writes. */
interface ClientInternals {
  _chanMgr?: { _channels?: Record<string, unknown> };
  _sock?: { cork?(): void; uncork?(): void };
}

function whereOf(connection: Connection): string {
  return `${connection.host.name} (${connection.host.address}:${connection.host.port})`;
}

function socketOf(connection: Connection): ClientInternals['_sock'] {
  return (connection.client as unknown as ClientInternals)._sock;
}

function channelIds(connection: Connection): Set<string> {
  return new Set(Object.keys((connection.client as unknown as ClientInternals)._chanMgr?._channels ?? {}));
}

/**
 * Closes the channels opened since `before` that are still open: ssh2 leaves a channel whose
 * subsystem request was refused open, and sshd counts it against MaxSessions (10) until the
 * connection ends, after which no command can start.
 */
function closeChannelsSince(connection: Connection, before: Set<string>, opened: Set<string>): void {
  const channels = (connection.client as unknown as ClientInternals)._chanMgr?._channels ?? {};
  for (const id of opened) {
    if (before.has(id)) continue;
    const channel = channels[id] as { outgoing?: { state?: string }; destroy?(): void } | undefined;
    if (channel?.outgoing?.state === 'open' && typeof channel.destroy === 'function') channel.destroy();
  }
}

/** The host has no SFTP server: uploads there go over shell commands instead (transfer-exec.ts). */
export class NoSftpServerError extends Error {
  override readonly name = 'NoSftpServerError';
}

class SubsystemRefusedError extends Error {}

const SUBSYSTEM_ATTEMPTS = 5;
const SUBSYSTEM_RETRY_PAUSE_MS = 20;

export class SftpSession {
  private ended = false;
  private corked = false;
  private failure: Error | undefined;
  /** Settles when both sides closed the channel. */
  private readonly closed: Promise<void>;

  private constructor(
    private readonly sftp: SFTPWrapper,
    private readonly where: string,
    private readonly socket: ClientInternals['_sock'],
  ) {
    this.closed = new Promise((resolve) => {
      sftp.on('close', () => {
        this.ended = true;
        resolve();
      });
    });
    // A fatal protocol error; ssh2 closes the session after it.
    sftp.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  /**
   * A refused subsystem request is asked again a few times before it counts as "no SFTP
   * server": ssh2 reports a channel the server closed before answering (dropbear 2022.82-83
   * does that to a channel opened while another command ends, mkj/dropbear#173) with the
   * same words as a refusal.
   */
  static async open(connection: Connection): Promise<SftpSession> {
    const kept = connection.takeKeptSftp();
    if (kept) return new SftpSession(kept, whereOf(connection), socketOf(connection));
    for (let attempt = 1; ; attempt++) {
      try {
        return await SftpSession.openOnce(connection);
      } catch (error) {
        // A server with few sessions (MaxSessions) may have refused it for the shell kept ready: given back, once.
        if (connection.keepsShells && connection.isAlive && !(error instanceof NoSftpServerError)) {
          await connection.makeRoomForSessions();
          continue;
        }
        if (!(error instanceof SubsystemRefusedError)) throw error;
        if (attempt >= SUBSYSTEM_ATTEMPTS) throw new NoSftpServerError(error.message);
        await new Promise((resolve) => setTimeout(resolve, SUBSYSTEM_RETRY_PAUSE_MS * attempt));
      }
    }
  }

  private static openOnce(connection: Connection): Promise<SftpSession> {
    const where = whereOf(connection);
    return new Promise((resolve, reject) => {
      const lost = () => new ConnectionLostError(`The connection to ${where} dropped before the SFTP session could start.`);
      if (!connection.isAlive) return reject(lost());
      try {
        const before = channelIds(connection);
        // ssh2 adds the channel to its table within this call: the ids new right after it are this session's.
        let opened = new Set<string>();
        connection.client.sftp((error, sftp) => {
          if (!error) return resolve(new SftpSession(sftp, where, socketOf(connection)));
          if (!connection.isAlive) return reject(lost());
          const noServer = `The SSH server on ${where} has no SFTP server (${error.message}).`;
          // Refused (OpenSSH without a Subsystem line), or closed before an answer.
          if (/subsystem/i.test(error.message)) {
            closeChannelsSince(connection, before, opened);
            return reject(new SubsystemRefusedError(noServer));
          }
          // The server's program was not found or could not run (dropbear runs its compiled-in path through the login shell).
          if (/exit code 12[67]\b/.test(error.message)) return reject(new NoSftpServerError(noServer));
          reject(new Error(`Could not start an SFTP session on ${where}: ${error.message}.`));
        });
        opened = channelIds(connection);
      } catch (error) {
        // ssh2 throws "Not connected" when the socket is already gone.
        if (isNotConnected(error)) connection.markLost();
        reject(connection.isAlive ? error : lost());
      }
    });
  }

  /** The largest write the server takes in one request; ssh2 splits bigger ones into round trips one after the other. */
  get maxWriteLength(): number {
    return (this.sftp as unknown as SftpInternals)._maxWriteLen ?? 32 * 1024;
  }

  supports(extension: string): boolean {
    return (this.sftp as unknown as SftpInternals)._extensions?.[extension] === '1';
  }

  /** The file's attributes, or null when there is no such file. */
  stat(path: string): Promise<Stats | null> {
    return this.call<Stats | null>((done) =>
      this.sftp.stat(path, (error, stats) => {
        if (isSftpCode(error, SFTP_NO_SUCH_FILE)) done(undefined, null);
        else done(error, stats);
      }),
    );
  }

  open(path: string, flags: OpenMode, mode?: number): Promise<Buffer> {
    return this.call<Buffer>((done) => {
      if (mode === undefined) this.sftp.open(path, flags, done);
      else this.sftp.open(path, flags, { mode }, done);
    });
  }

  /**
   * Bytes a write request for `handle` takes before its data (SSH_FXP_WRITE: length, type,
   * id, handle, offset, data length): a buffer holding the data this far in is sent as the
   * request itself (see write).
   */
  static requestHeadRoom(handle: Buffer): number {
    return 4 + 1 + 4 + 4 + handle.length + 8 + 4;
  }

  /**
   * Writes `length` bytes of `buffer` from `offset`; resolves when the server has answered,
   * after which the buffer can be refilled. When `offset` is requestHeadRoom(handle), ssh2's
   * request is made in `buffer` itself, around the data, instead of in a new Buffer that
   * the data is copied into: 1 GiB of them in a 1 GiB upload, freed only by a collection
   * (the buffer must then stay untouched until the answer: ssh2 may still be sending it).
   */
  write(handle: Buffer, buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
    this.batchWritesUntilNextTick();
    return this.call<void>((done) => {
      if (offset !== SftpSession.requestHeadRoom(handle)) return this.sftp.write(handle, buffer, offset, length, position, (error) => done(error));
      // ssh2's write makes its request with the first allocation it asks for: at this size, it is the buffer itself.
      withFirstAllocation(
        (size) => (size === offset + length ? buffer.subarray(0, size) : undefined),
        () => this.sftp.write(handle, buffer, offset, length, position, (error) => done(error)),
      );
    });
  }

  /**
   * ssh2 writes each 32 KiB packet to the socket on its own: a write of 256 KiB made eight
   * system calls, and the writes of one tick many more. Corked until the next tick, they
   * leave in one writev (sending 1 GiB: 5.2 s became 4.4 s here).
   */
  private batchWritesUntilNextTick(): void {
    const socket = this.socket;
    if (this.corked || typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function') return;
    this.corked = true;
    socket.cork();
    process.nextTick(() => {
      this.corked = false;
      socket.uncork?.();
    });
  }

  /** fsync@openssh.com when the server has it; otherwise nothing (the data still reaches the disk eventually). */
  async fsync(handle: Buffer): Promise<void> {
    if (!this.supports('fsync@openssh.com')) return;
    await this.call<void>((done) => this.sftp.ext_openssh_fsync(handle, (error) => done(error)));
  }

  close(handle: Buffer): Promise<void> {
    return this.call<void>((done) => this.sftp.close(handle, (error) => done(error)));
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.call<void>((done) => this.sftp.chmod(path, mode, (error) => done(error)));
  }

  unlink(path: string): Promise<void> {
    return this.call<void>((done) => this.sftp.unlink(path, (error) => done(error)));
  }

  /** rename(2) semantics (atomic, replaces the target) through posix-rename@openssh.com; false when the server lacks it. */
  async posixRename(from: string, to: string): Promise<boolean> {
    if (!this.supports('posix-rename@openssh.com')) return false;
    await this.call<void>((done) => this.sftp.ext_openssh_rename(from, to, (error) => done(error)));
    return true;
  }

  /** Closes the channel; writes still waiting for window space are dropped. */
  end(): void {
    this.ended = true;
    this.sftp.end();
  }

  /**
   * end(), then waits (at most `waitMs`) for the server to close its side, which it does
   * once its sftp-server has ended: dropbear 2022.82-83 closes a channel opened while one of
   * its children ends (mkj/dropbear#173), so the command after an upload must not race it.
   */
  async endAndWait(waitMs: number): Promise<void> {
    this.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  private call<T>(request: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.ended) {
        return reject(this.failure ?? new Error(`The SFTP session on ${this.where} has ended.`));
      }
      request((error, value) => (error ? reject(error) : resolve(value as T)));
    });
  }
}

export function isSftpCode(error: unknown, code: number): boolean {
  return error instanceof Error && (error as Error & { code?: unknown }).code === code;
}
