// A logged-in SSH connection as the pool keeps it: alive or not, who to tell when it drops,
// and work that must reach the server before it is closed.
import type { Writable } from 'node:stream';
import type { ClientChannel, SFTPWrapper, Client as SshClient } from 'ssh2';
import { LAUNCHER } from './launcher.js';
import { closeSession, openSession } from './session-ahead.js';
import type { ResolvedHost } from './types.js';

/** How long a closed connection waits for the server to hang up before its socket is destroyed. */
const CLOSE_WAIT_MS = 2000;

/** How long a session channel opened ahead waits for a command to take it. */
const SESSION_AHEAD_MS = 60_000;

/** A live connection; `onDrop` hears when it ends without close() having been asked. */
export class Connection {
  private alive = true;
  private closing = false;
  private lastError: Error | undefined;
  private readonly dropListeners = new Set<(reason: string) => void>();
  private readonly pending = new Set<Promise<void>>();
  private keptSftp: { session: SFTPWrapper; timer: NodeJS.Timeout } | undefined;
  private ahead: { opening: Promise<ClientChannel | null>; timer: NodeJS.Timeout } | undefined;
  private heardDrop!: () => void;
  /** Settles when the connection ends: a channel still opening then never hears from ssh2. */
  private readonly ended = new Promise<void>((resolve) => (this.heardDrop = resolve));

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
    this.heardDrop();
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
   * Opens a session channel for the next command to take (session-ahead.ts): its exec request
   * goes at once, a round trip sooner. One at a time; it holds one of the server's sessions
   * (MaxSessions), so it is closed when nobody took it within a minute and when the connection
   * closes, and given back when the server refused a session for want of one, before that is
   * asked again (giveBackSessionAhead).
   */
  openSessionAhead(): void {
    if (this.ahead || !this.alive || this.closing) return;
    const opening = Promise.race([openSession(this.client), this.ended.then(() => null)]);
    const ahead = { opening, timer: setTimeout(() => this.dropSessionAhead(), SESSION_AHEAD_MS) };
    ahead.timer.unref?.();
    this.ahead = ahead;
    void opening.then((channel) => {
      if (this.ahead !== ahead) return closeSession(channel);
      if (!channel) return this.forgetAhead(ahead);
      channel.once('close', () => this.forgetAhead(ahead));
    });
  }

  /** The channel opened ahead (waited for while it opens), now the caller's; null when there is none. */
  async takeSessionAhead(): Promise<ClientChannel | null> {
    const ahead = this.ahead;
    if (!ahead) return null;
    this.forgetAhead(ahead);
    const channel = await ahead.opening;
    return channel && this.alive ? channel : null;
  }

  /** Closes the channel opened ahead, if any, giving its session back to the server. */
  dropSessionAhead(): void {
    const ahead = this.ahead;
    if (!ahead) return;
    this.forgetAhead(ahead);
    void ahead.opening.then(closeSession);
  }

  /**
   * Like dropSessionAhead, but settles once the server closed the channel: sshd counts a
   * session until then, so what it refused for want of one can be asked again. Whether there
   * was one.
   */
  async giveBackSessionAhead(): Promise<boolean> {
    const ahead = this.ahead;
    if (!ahead) return false;
    this.forgetAhead(ahead);
    const channel = await ahead.opening;
    if (!channel) return true;
    const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
    closeSession(channel);
    await withTimeout(closed, 5000);
    return true;
  }

  private forgetAhead(ahead: NonNullable<Connection['ahead']>): void {
    if (this.ahead !== ahead) return;
    clearTimeout(ahead.timer);
    this.ahead = undefined;
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
    this.dropSessionAhead();
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
