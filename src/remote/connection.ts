// A logged-in SSH connection as the pool keeps it: alive or not, who to tell when it drops,
// and work that must reach the server before it is closed.
import type { Writable } from 'node:stream';
import type { SFTPWrapper, Client as SshClient } from 'ssh2';
import { LAUNCHER } from './launcher.js';
import type { ResolvedHost } from './types.js';

/** How long a closed connection waits for the server to hang up before its socket is destroyed. */
const CLOSE_WAIT_MS = 2000;

/** A live connection; `onDrop` hears when it ends without close() having been asked. */
export class Connection {
  private alive = true;
  private closing = false;
  private lastError: Error | undefined;
  private readonly dropListeners = new Set<(reason: string) => void>();
  private readonly pending = new Set<Promise<void>>();
  private keptSftp: { session: SFTPWrapper; timer: NodeJS.Timeout } | undefined;

  constructor(
    readonly client: SshClient,
    readonly host: ResolvedHost,
  ) {
    // ssh2 emits 'error' for a keepalive timeout or a reset; without a listener it would throw.
    client.on('error', (error: Error) => {
      this.lastError = error;
    });
    client.on('close', () => this.drop(this.lastError ? `the connection dropped (${this.lastError.message})` : 'the connection was closed by the server'));
  }

  /**
   * ssh2 found the socket gone ("Not connected") before its 'close' came: the connection is
   * dead from now on, so that nobody is handed it again while the close is on its way.
   */
  markLost(): void {
    this.drop('the connection dropped (the socket closed)');
    this.client.destroy();
  }

  private drop(reason: string): void {
    if (!this.alive) return;
    this.alive = false;
    if (this.closing) return;
    for (const listener of this.dropListeners) listener(reason);
  }

  get isAlive(): boolean {
    return this.alive;
  }

  onDrop(listener: (reason: string) => void): void {
    this.dropListeners.add(listener);
  }

  /**
   * Keeps an SFTP session that works (the check's) for the next upload to take instead of
   * opening its own: a channel, a start of the server's login shell and three round trips
   * less. Ended when nobody took it within `forMs`, when the connection closes, and when a
   * command could not get a channel (a server with few sessions: dropKeptSftp).
   */
  keepSftp(session: SFTPWrapper, forMs: number): void {
    this.dropKeptSftp();
    if (!this.alive || this.closing) {
      session.end();
      return;
    }
    const kept = { session, timer: setTimeout(() => this.dropKeptSftp(), forMs) };
    kept.timer.unref?.();
    this.keptSftp = kept;
    session.once('close', () => {
      if (this.keptSftp !== kept) return;
      clearTimeout(kept.timer);
      this.keptSftp = undefined;
    });
  }

  /** The kept SFTP session, now the caller's; none when the connection or the session ended. */
  takeKeptSftp(): SFTPWrapper | undefined {
    const kept = this.keptSftp;
    if (!kept) return undefined;
    clearTimeout(kept.timer);
    this.keptSftp = undefined;
    return this.alive ? kept.session : undefined;
  }

  /** Ends the kept SFTP session, if any: it holds one of the server's sessions (MaxSessions). */
  dropKeptSftp(): void {
    const kept = this.keptSftp;
    if (!kept) return;
    clearTimeout(kept.timer);
    this.keptSftp = undefined;
    kept.session.end();
  }

  /** Work that must reach the server before close() ends the connection (killing a cancelled command). */
  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
  }

  /** Runs a housekeeping script under /bin/sh (the launcher), output ignored; resolves when it ended, failed or took too long. */
  runQuietly(command: string, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve) => {
      if (!this.alive) return resolve();
      const timer = setTimeout(resolve, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      try {
        this.client.exec(LAUNCHER, (error, channel) => {
          if (error) return done();
          channel.on('close', done);
          channel.resume();
          channel.stderr.resume();
          channel.end(command);
        });
      } catch {
        // "Not connected": the socket closed before the connection heard of it.
        this.markLost();
        done();
      }
    });
  }

  async close(): Promise<void> {
    this.dropKeptSftp();
    if (this.pending.size > 0) await withTimeout(Promise.all(this.pending), 5000);
    if (!this.alive) return;
    this.closing = true;
    // Done once the goodbye has left: the server's own close comes a round trip later
    // (two through a ProxyJump, whose channel closes first), and nothing is waited for then.
    const socket = (this.client as unknown as { _sock?: Writable })._sock;
    return new Promise((resolve) => {
      const fallback = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, CLOSE_WAIT_MS);
      fallback.unref?.();
      this.client.once('close', () => {
        clearTimeout(fallback);
        resolve();
      });
      this.client.end();
      if (socket?.writableFinished) resolve();
      else socket?.once('finish', () => resolve());
    });
  }
}

function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    work.then(done, done);
  });
}
