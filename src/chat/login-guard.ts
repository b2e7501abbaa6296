// Connections that have not logged in yet, bounded as sshd bounds them (LoginGraceTime,
// MaxStartups): each must finish the key exchange soon after it was accepted and log in
// within a grace time, and only so many may be at it at once. A socket that never says a
// word would otherwise be held forever, and enough of them use up nightshift's file
// descriptors.
import type net from 'node:net';

export interface LoginGuardOptions {
  /** From accept to the end of the key exchange; a real client needs milliseconds. */
  handshakeMs: number;
  /** From accept to logged in: the helper types a code they are told on the phone. */
  loginMs: number;
  /** Connections not logged in at one time; past it new ones are closed at once. */
  maxPending: number;
  /** Connections were turned away for the cap: at the first one, then at most once a minute, with how many since. */
  onCrowded(refused: number): void;
}

/** One admitted connection until it logs in or goes. */
export interface PendingLogin {
  /** The key exchange is done: only the login grace is left. */
  handshaken(): void;
  /** Logged in: no longer bounded here, and no longer counted. */
  loggedIn(): void;
}

const CROWDED_REPORTED_EVERY_MS = 60_000;

export class LoginGuard {
  readonly #options: LoginGuardOptions;
  readonly #pending = new Map<string, PendingLogin & { end(): void }>();
  #refusedSinceReport = 0;
  #reportedAt = -Infinity;

  constructor(options: LoginGuardOptions) {
    this.#options = options;
  }

  /** How many connections are waiting to log in. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Takes a fresh connection in, or closes it at once when too many have not logged in.
   * The socket is closed when it overstays; the entry goes when the socket closes.
   */
  admit(socket: net.Socket): PendingLogin | null {
    if (this.#pending.size >= this.#options.maxPending) {
      socket.destroy();
      this.#crowded();
      return null;
    }
    const key = keyOf(socket);
    const overstayed = () => socket.destroy();
    let handshake: NodeJS.Timeout | undefined = setTimeout(overstayed, this.#options.handshakeMs).unref();
    let login: NodeJS.Timeout | undefined = setTimeout(overstayed, this.#options.loginMs).unref();
    const entry = {
      handshaken: () => {
        clearTimeout(handshake);
        handshake = undefined;
      },
      loggedIn: () => {
        entry.end();
      },
      end: () => {
        clearTimeout(handshake);
        clearTimeout(login);
        handshake = login = undefined;
        if (this.#pending.get(key) === entry) this.#pending.delete(key);
      },
    };
    this.#pending.set(key, entry);
    socket.once('close', entry.end);
    return entry;
  }

  /** The pending login of the connection from `address`:`port` (as ssh2 reports where a client came from). */
  find(address: string | undefined, port: number | undefined): PendingLogin | undefined {
    return this.#pending.get(`${address}|${port}`);
  }

  /** Forgets every connection (they are being closed anyway). */
  clear(): void {
    for (const entry of [...this.#pending.values()]) entry.end();
  }

  #crowded(): void {
    this.#refusedSinceReport++;
    const now = Date.now();
    if (now - this.#reportedAt < CROWDED_REPORTED_EVERY_MS) return;
    this.#reportedAt = now;
    const refused = this.#refusedSinceReport;
    this.#refusedSinceReport = 0;
    this.#options.onCrowded(refused);
  }
}

function keyOf(socket: net.Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
