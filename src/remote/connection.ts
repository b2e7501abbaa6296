// A logged-in SSH connection as the pool keeps it: alive or not, who to tell when it drops,
// and work that must reach the server before it is closed.
import type { Writable } from 'node:stream';
import type { SFTPWrapper, Client as SshClient } from 'ssh2';
import { LAUNCHER } from './launcher.js';
import type { ResolvedHost } from './types.js';
import { WarmShell, type TakenShell } from './warm-shell.js';

/** How long a closed connection waits for the server to hang up before its socket is destroyed. */
const CLOSE_WAIT_MS = 2000;

/** How long a shell kept ready waits for a command before it is ended. */
const KEEP_SHELL_MS = 60_000;

/** A live connection; `onDrop` hears when it ends without close() having been asked. */
export class Connection {
  private alive = true;
  private closing = false;
  private lastError: Error | undefined;
  private readonly dropListeners = new Set<(reason: string) => void>();
  private readonly pending = new Set<Promise<void>>();
  private keptSftp: { session: SFTPWrapper; timer: NodeJS.Timeout } | undefined;
  private keptShell: { shell: WarmShell; timer: NodeJS.Timeout } | undefined;
  /**
   * Whether commands keep a shell ready for the next (warm-shell.ts): set for the connections
   * a run goes on with, not for a login made for one command. Off for good once the server
   * refused a session, which one kept ready may have taken (MaxSessions).
   */
  keepsShells = false;

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

  /**
   * The shell kept ready, now the caller's (null when there is none, or it ended), after
   * which another is started for the command after.
   */
  async takeShell(): Promise<TakenShell | null> {
    const kept = this.keptShell;
    this.keptShell = undefined;
    if (kept) clearTimeout(kept.timer);
    const taken = kept ? await kept.shell.take() : null;
    this.keepShellReady();
    return taken;
  }

  /**
   * Starts a shell for the next command unless one is kept: in a task of its own, so that
   * the channels asked for now (the check's probe and its SFTP session) come first, should
   * the server have few sessions.
   */
  keepShellReady(): void {
    if (!this.keepsShells || this.keptShell) return;
    setImmediate(() => {
      if (!this.keepsShells || this.keptShell || !this.alive || this.closing) return;
      const kept = {
        // Refused, or ended untaken (a login shell that will not run it): none is kept again.
        shell: new WarmShell(this.client, () => {
          if (this.keptShell !== kept) return;
          this.keepsShells = false;
          this.dropKeptShell();
        }),
        timer: setTimeout(() => this.dropKeptShell(), KEEP_SHELL_MS),
      };
      kept.timer.unref?.();
      this.keptShell = kept;
    });
  }

  /**
   * Ends the shell kept ready, if any: it holds one of the server's sessions. Resolves once
   * the server has closed it (its session is free), or after CLOSE_WAIT_MS.
   */
  dropKeptShell(): Promise<void> {
    const kept = this.keptShell;
    if (!kept) return Promise.resolve();
    clearTimeout(kept.timer);
    this.keptShell = undefined;
    kept.shell.end();
    return withTimeout(kept.shell.closed, CLOSE_WAIT_MS);
  }

  /** The server's software, from the first line it sent (OpenSSH_9.2p1, dropbear_2022.83). */
  get serverSoftware(): string {
    return (this.client as unknown as { _remoteVer?: string })._remoteVer ?? '';
  }

  /**
   * The server refused a session: what this connection keeps is given back, and no shell is
   * kept ready on it again.
   */
  makeRoomForSessions(): Promise<void> {
    this.keepsShells = false;
    this.dropKeptSftp();
    return this.dropKeptShell();
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
    this.keepsShells = false;
    void this.dropKeptShell();
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
