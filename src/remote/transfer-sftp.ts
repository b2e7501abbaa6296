// An SFTP session on a connection, as promises. Calls made after the session ended fail at
// once: ssh2 would silently drop them and never call back.
import type { OpenMode, SFTPWrapper, Stats } from 'ssh2';
import type { Connection } from './connection.js';
import { ConnectionLostError, isNotConnected } from './errors.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02) carried in ssh2's error.code. */
export const SFTP_NO_SUCH_FILE = 2;
export const SFTP_PERMISSION_DENIED = 3;

/** What ssh2 keeps private but an uploader needs: the extensions and the largest write the server takes in one request. */
interface SftpInternals {
  _extensions?: Record<string, string>;
  _maxWriteLen?: number;
}

/** The host has no SFTP server: uploads there go over shell commands instead (transfer-exec.ts). */
export class NoSftpServerError extends Error {
  override readonly name = 'NoSftpServerError';
}

export class SftpSession {
  private ended = false;
  private failure: Error | undefined;

  private constructor(
    private readonly sftp: SFTPWrapper,
    private readonly where: string,
  ) {
    sftp.on('close', () => {
      this.ended = true;
    });
    // A fatal protocol error; ssh2 closes the session after it.
    sftp.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  static open(connection: Connection): Promise<SftpSession> {
    const { host } = connection;
    const where = `${host.name} (${host.address}:${host.port})`;
    return new Promise((resolve, reject) => {
      const lost = () => new ConnectionLostError(`The connection to ${where} dropped before the SFTP session could start.`);
      if (!connection.isAlive) return reject(lost());
      try {
        connection.client.sftp((error, sftp) => {
          if (!error) return resolve(new SftpSession(sftp, where));
          if (!connection.isAlive) return reject(lost());
          // Refused (OpenSSH without a Subsystem line), or the server's program was not found
          // or could not run (dropbear runs its compiled-in path through the login shell).
          if (/subsystem/i.test(error.message) || /exit code 12[67]\b/.test(error.message)) {
            return reject(new NoSftpServerError(`The SSH server on ${where} has no SFTP server (${error.message}).`));
          }
          reject(new Error(`Could not start an SFTP session on ${where}: ${error.message}.`));
        });
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

  /** Writes `length` bytes of `buffer`; ssh2 has copied them into its packet when this returns, so the buffer can be refilled. */
  write(handle: Buffer, buffer: Buffer, length: number, position: number): Promise<void> {
    return this.call<void>((done) => this.sftp.write(handle, buffer, 0, length, position, (error) => done(error)));
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
