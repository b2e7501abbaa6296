// The helper channel: a small ssh2 Server inside nightshift that an on-site helper reaches
// with nothing but an OpenSSH client (`ssh -p PORT sentinel@HOST`, or observer@ to watch).
// They type the join code the upgrader reads out; once in, their terminal is handed to
// onHelper, where an Ink app is rendered onto it.
//
// Authentication is the join code only (keyboard-interactive or password), for the users
// `sentinel` and `observer`. Every connection arrives from 127.0.0.1 through a tunnel, so
// wrong codes are counted for the endpoint as a whole: each is answered late, and too many
// in a row lock everybody out until the lockout runs out or the upgrader draws a new code.
// A session needs a pty and a shell; commands, subsystems (sftp), forwarding, agent and X11
// are refused, and a connection that has not opened its terminal soon after logging in
// (`ssh -N`) is closed. Connections that have not logged in are bounded (login-guard.ts).
import net from 'node:net';
import { ssh2 } from '../remote/ssh2.js';
import type { AuthContext, AuthenticationType, ClientInfo, Connection, PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import { neutralize } from '../output/neutralize.js';
import { isLoopbackAddress } from './loopback.js';
import { fingerprintOf } from '../remote/keys.js';
import { clampTerminalSize, HelperSession, type HelperRole, type HelperTerminal } from './helper-endpoint-terminal.js';
import { JoinGate, type JoinGateChange } from './join-code.js';
import { LoginGuard } from './login-guard.js';

export { fingerprintOf } from '../remote/keys.js';
export { HelperInput, HelperOutput, MAX_COLUMNS, MAX_ROWS, type HelperRole, type HelperTerminal } from './helper-endpoint-terminal.js';
export { normalizeJoinCode } from './join-code.js';
export { isLoopbackAddress } from './loopback.js';

export type HelperRefusal =
  /** a user name other than sentinel and observer */
  | 'unknown-user'
  | 'wrong-code'
  /** any attempt while locked out, the right code included */
  | 'locked-out'
  /** logged in, but asked for no pty (`ssh -T`) or ran a command */
  | 'no-terminal'
  /** logged in, but opened no terminal session in time (`ssh -N`): the connection was closed */
  | 'no-session';

export type HelperEndpointEvent =
  | { type: 'joined'; role: HelperRole; id: string; from: string }
  | { type: 'left'; role: HelperRole; id: string }
  /** onHelper threw: the helper was told and their session ended. */
  | { type: 'failed'; id: string; message: string }
  /** `username` is the client's, neutralized (no escape sequences or control characters) and cut to 64 characters. */
  | { type: 'refused'; username: string; reason: HelperRefusal; from: string }
  | { type: 'locked'; until: number; failures: number }
  /** `refused` connections were closed at once: `limit` others had not logged in yet. */
  | { type: 'crowded'; limit: number; refused: number }
  | { type: 'unlocked'; reason: 'expired' | 'new-code' }
  /** `drawn`: newCode(); `used`: a helper got in with the code, which lets in only one. */
  | { type: 'code-changed'; reason: 'drawn' | 'used' };

export interface HelperEndpointOptions {
  /** OpenSSH private key text (unencrypted), e.g. generateEd25519KeyPair(...).privateKey. */
  hostKey: string;
  /** Default '127.0.0.1'. */
  address?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Binding anything but 127.0.0.0/8, ::1 or localhost throws unless this is true. */
  allowNonLoopback?: boolean;
  /** Named in the banner helpers see: "nightshift helper channel for <label>". */
  label?: string;
  onHelper(terminal: HelperTerminal): void;
  /** For the journal. */
  onEvent?(event: HelperEndpointEvent): void;
  /** Wrong codes in a row (across all connections) before everybody is locked out. Default 5. */
  maxFailures?: number;
  /** Default 5 minutes. During it even the right code is refused; newCode() ends it. */
  lockoutMs?: number;
  /** A wrong code is answered only after this long. Default 1000. */
  failureDelayMs?: number;
  /** Default true: a code lets one helper in, then a new one is drawn (code-changed, reason 'used'). */
  oneTimeCodes?: boolean;
  /** From accept to the end of the key exchange (the SSH ident line and keys). Default 20 s. */
  handshakeTimeoutMs?: number;
  /** From accept to logged in. Default 3 minutes. */
  loginGraceMs?: number;
  /** Connections not logged in at one time (as sshd's MaxStartups); more are closed at once. Default 10. */
  maxPendingLogins?: number;
  /** From logged in to a terminal session (session channel, pty, shell). Default 10 s. */
  terminalWithinMs?: number;
}

export interface HelperEndpoint {
  readonly address: string;
  readonly port: number;
  /** SHA256:… of the host key, as OpenSSH prints it. */
  readonly fingerprint: string;
  /** The current join code, "482-917-305"; the helper may type it with or without dashes and spaces. */
  code(): string;
  /** Draws a new code (the old one stops working) and ends any lockout. */
  newCode(): string;
  /** When the lockout ends (ms since the epoch), or null when helpers may try. */
  lockedUntil(): number | null;
  /** Called when the code or the lockout changed; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Stops listening and ends every helper's session. */
  /** Hangs up on every helper, telling them `why` (the run completed, was paused...). */
  close(why?: string): Promise<void>;
}

const DEFAULT_MAX_FAILURES = 5;
const DEFAULT_LOCKOUT_MS = 5 * 60_000;
const DEFAULT_FAILURE_DELAY_MS = 1000;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 20_000;
/** As sshd's LoginGraceTime, a little longer: the code may be read out slowly on a phone. */
const DEFAULT_LOGIN_GRACE_MS = 3 * 60_000;
const DEFAULT_MAX_PENDING_LOGINS = 10;
/** OpenSSH asks for its session, pty and shell the moment it is in. */
const DEFAULT_TERMINAL_WITHIN_MS = 10_000;
/** When close() stops waiting for clients to hang up and cuts their connections. */
const CLOSE_PATIENCE_MS = 1000;
const ROLES: ReadonlyMap<string, HelperRole> = new Map([
  ['sentinel', 'sentinel'],
  ['observer', 'observer'],
]);
const CODE_METHODS: AuthenticationType[] = ['keyboard-interactive', 'password'];
export const JOIN_PROMPT = 'Join code (ask the upgrader): ';
export const NEEDS_TERMINAL = "nightshift's helper channel needs a terminal: ssh -t ..., without -T and without a command.";
const WRONG_CODE = 'That was not the join code. Ask the upgrader to read it out again.';
const CLOSED_BY_ENDPOINT = 'nightshift closed the helper channel';

export async function startHelperEndpoint(options: HelperEndpointOptions): Promise<HelperEndpoint> {
  const address = options.address ?? '127.0.0.1';
  if (!options.allowNonLoopback && !isLoopbackAddress(address)) {
    throw new Error(
      `The helper channel would listen on ${address}, which is not a loopback address: anybody who can reach it ` +
        `could try join codes. It listens on 127.0.0.1 (helpers come in through the tunnel) unless told otherwise on purpose.`,
    );
  }
  const fingerprint = fingerprintOf(options.hostKey);
  const endpoint = new Endpoint(options, fingerprint);
  await endpoint.listen(address, options.port ?? 0);
  return endpoint;
}

/** One TCP connection, from before login to its end. */
interface Visitor {
  client: Connection;
  from: string;
  role: HelperRole | undefined;
  /** This connection typed a wrong code: the next prompt says so. */
  wrongBefore: boolean;
  /** Refused for good (locked out, unknown user): later attempts are refused at once, without a word. */
  turnedAway: boolean;
  sessionOpened: boolean;
  /** Told why it gets no terminal (ssh -T, a command): its client ends the connection. */
  explained: boolean;
  terminal: HelperSession | undefined;
  /** Runs from login until the terminal is open. */
  terminalTimer: NodeJS.Timeout | undefined;
}

class Endpoint implements HelperEndpoint {
  address = '';
  port = 0;
  readonly fingerprint: string;
  readonly #options: HelperEndpointOptions;
  readonly #gate: JoinGate;
  readonly #guard: LoginGuard;
  readonly #tcp: net.Server;
  readonly #visitors = new Set<Visitor>();
  readonly #sockets = new Set<net.Socket>();
  readonly #delays = new Set<NodeJS.Timeout>();
  readonly #subscribers = new Set<() => void>();
  readonly #counters = new Map<HelperRole, number>();
  #closing: Promise<void> | undefined;

  constructor(options: HelperEndpointOptions, fingerprint: string) {
    this.#options = options;
    this.fingerprint = fingerprint;
    this.#gate = new JoinGate({
      maxFailures: options.maxFailures ?? DEFAULT_MAX_FAILURES,
      lockoutMs: options.lockoutMs ?? DEFAULT_LOCKOUT_MS,
      oneTime: options.oneTimeCodes ?? true,
      onChange: (change) => this.#gateChanged(change),
    });
    const maxPending = options.maxPendingLogins ?? DEFAULT_MAX_PENDING_LOGINS;
    this.#guard = new LoginGuard({
      handshakeMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      loginMs: options.loginGraceMs ?? DEFAULT_LOGIN_GRACE_MS,
      maxPending,
      onCrowded: (refused) => this.#emit({ type: 'crowded', limit: maxPending, refused }),
    });
    const label = neutralize(options.label ?? 'this upgrade').slice(0, 80);
    const ssh = new (ssh2().Server)(
      {
        hostKeys: [options.hostKey],
        ident: 'nightshift-helper',
        banner: `nightshift helper channel for ${label}: type the join code the upgrader reads out.\r\n`,
        // A helper whose line died is noticed within about a minute.
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
      },
      (client, info) => this.#serve(client, info),
    );
    this.#tcp = net.createServer((socket) => {
      if (this.#closing) {
        socket.destroy();
        return;
      }
      socket.on('error', () => {});
      if (!this.#guard.admit(socket)) return;
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.setNoDelay(true);
      ssh.injectSocket(socket);
    });
  }

  async listen(address: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#tcp.once('error', reject);
      this.#tcp.listen({ host: address, port, exclusive: true }, () => {
        this.#tcp.off('error', reject);
        resolve();
      });
    });
    const bound = this.#tcp.address() as net.AddressInfo;
    this.address = bound.address;
    this.port = bound.port;
  }

  code(): string {
    return this.#gate.code();
  }

  newCode(): string {
    return this.#gate.newCode();
  }

  lockedUntil(): number | null {
    return this.#gate.lockedUntil();
  }

  subscribe(listener: () => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  close(why?: string): Promise<void> {
    this.#closing ??= this.#shutDown(why);
    return this.#closing;
  }

  async #shutDown(why: string | undefined): Promise<void> {
    this.#gate.dispose();
    this.#guard.clear();
    for (const timer of this.#delays) clearTimeout(timer);
    this.#delays.clear();
    const stopped = new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
    for (const visitor of this.#visitors) {
      clearTimeout(visitor.terminalTimer);
      if (visitor.terminal && !visitor.terminal.closed) visitor.terminal.close(why ? `${CLOSED_BY_ENDPOINT}: ${why}.` : `${CLOSED_BY_ENDPOINT}.`);
      else endQuietly(visitor.client);
    }
    // Clients that do not hang up when asked are cut off.
    const impatience = setTimeout(() => {
      for (const socket of this.#sockets) socket.destroy();
    }, CLOSE_PATIENCE_MS);
    await stopped;
    clearTimeout(impatience);
    this.#subscribers.clear();
  }

  #emit(event: HelperEndpointEvent): void {
    this.#options.onEvent?.(event);
  }

  #gateChanged(change: JoinGateChange): void {
    this.#emit(change);
    for (const listener of [...this.#subscribers]) listener();
  }

  #serve(client: Connection, info: ClientInfo): void {
    const visitor: Visitor = {
      client,
      from: net.isIPv6(info.ip) ? `[${info.ip}]:${info.port}` : `${info.ip}:${info.port}`,
      role: undefined,
      wrongBefore: false,
      turnedAway: false,
      sessionOpened: false,
      explained: false,
      terminal: undefined,
      terminalTimer: undefined,
    };
    this.#visitors.add(visitor);
    const pending = this.#guard.find(info.ip, info.port);
    client.on('error', () => {});
    client.on('handshake', () => pending?.handshaken());
    client.on('authentication', (ctx) => this.#authenticate(visitor, ctx));
    client.on('ready', () => {
      pending?.loggedIn();
      visitor.terminalTimer = setTimeout(() => this.#noTerminalInTime(visitor), this.#options.terminalWithinMs ?? DEFAULT_TERMINAL_WITHIN_MS);
      visitor.terminalTimer.unref();
      client.on('session', (accept, reject) => {
        // One terminal per connection; a multiplexing client opens another connection.
        if (visitor.sessionOpened || this.#closing) {
          reject();
          return;
        }
        visitor.sessionOpened = true;
        this.#session(visitor, accept());
      });
    });
    client.on('close', () => {
      clearTimeout(visitor.terminalTimer);
      this.#visitors.delete(visitor);
      visitor.terminal?.ended();
    });
  }

  // --- logging in ---------------------------------------------------------------------

  #authenticate(visitor: Visitor, ctx: AuthContext): void {
    if (this.#closing) {
      ctx.reject(CODE_METHODS);
      endQuietly(visitor.client);
      return;
    }
    if (ctx.method !== 'keyboard-interactive' && ctx.method !== 'password') {
      // Clients try none and their keys first: no code was tried, nothing is counted.
      ctx.reject(CODE_METHODS);
      return;
    }
    if (this.#gate.lockedUntil() !== null) {
      this.#refuseLockedOut(visitor, ctx);
      return;
    }
    const role = ROLES.get(ctx.username);
    if (!role) {
      this.#refuseUnknownUser(visitor, ctx);
      return;
    }
    if (ctx.method === 'password') {
      this.#judge(visitor, ctx, role, ctx.password);
      return;
    }
    const instructions = visitor.wrongBefore ? WRONG_CODE : '';
    ctx.prompt([{ prompt: JOIN_PROMPT, echo: false }], '', instructions, (answers: string[] | Error) => {
      // An Error: the client gave up on this prompt and started another attempt.
      if (!Array.isArray(answers) || this.#closing) return;
      this.#judge(visitor, ctx, role, answers[0] ?? '');
    });
  }

  #judge(visitor: Visitor, ctx: AuthContext, role: HelperRole, typed: string): void {
    const verdict = this.#gate.check(typed);
    if (verdict === 'locked') {
      this.#refuseLockedOut(visitor, ctx);
      return;
    }
    if (verdict === 'accepted') {
      visitor.role = role;
      visitor.wrongBefore = false;
      ctx.accept();
      return;
    }
    this.#refused(visitor, ctx.username, 'wrong-code');
    this.#gate.recordFailure();
    visitor.wrongBefore = true;
    // Only the method this client chose goes on: a helper who typed a wrong code into the
    // prompt is asked again by the prompt, not by a password question out of nowhere.
    this.#later(() => rejectQuietly(ctx, [ctx.method]));
  }

  /** The first time a visitor is turned away: journaled, and true (the caller explains); after that a quiet rejection, and false. */
  #turnAwayOnce(visitor: Visitor, ctx: AuthContext, reason: HelperRefusal): boolean {
    if (visitor.turnedAway) {
      rejectQuietly(ctx, [ctx.method]);
      return false;
    }
    visitor.turnedAway = true;
    this.#refused(visitor, ctx.username, reason);
    return true;
  }

  #refuseUnknownUser(visitor: Visitor, ctx: AuthContext): void {
    if (!this.#turnAwayOnce(visitor, ctx, 'unknown-user')) return;
    this.#gate.recordFailure();
    const name = neutralize(ctx.username).slice(0, 32);
    const message = `nightshift's helper channel has no user "${name}": log in as sentinel (to lend a hand) or observer (to watch), e.g. ssh -p PORT sentinel@HOST.`;
    this.#later(() => this.#turnAway(ctx, message));
  }

  #refuseLockedOut(visitor: Visitor, ctx: AuthContext): void {
    if (!this.#turnAwayOnce(visitor, ctx, 'locked-out')) return;
    const until = this.#gate.lockedUntil() ?? Date.now();
    const minutes = Math.max(1, Math.ceil((until - Date.now()) / 60_000));
    const message = `Too many wrong join codes: nobody can join for ${minutes === 1 ? 'about a minute' : `${minutes} minutes`}, unless the upgrader draws a new code.`;
    this.#turnAway(ctx, message);
  }

  /**
   * Refuses with `message` where the client shows one: a keyboard-interactive request with
   * no prompts, only the instruction (OpenSSH prints it and answers at once). Later attempts
   * on the connection are refused at once and silently, until the client gives up.
   */
  #turnAway(ctx: AuthContext, message: string): void {
    if (ctx.method !== 'keyboard-interactive') {
      rejectQuietly(ctx, [ctx.method]);
      return;
    }
    try {
      ctx.prompt([], '', message, () => rejectQuietly(ctx, ['keyboard-interactive']));
    } catch {
      // the connection went away meanwhile
    }
  }

  #refused(visitor: Visitor, username: string, reason: HelperRefusal): void {
    // Foreign text on its way to the journal and the upgrader's screen.
    this.#emit({ type: 'refused', username: neutralize(username).slice(0, 64), reason, from: visitor.from });
  }

  #later(action: () => void): void {
    const timer = setTimeout(() => {
      this.#delays.delete(timer);
      action();
    }, this.#options.failureDelayMs ?? DEFAULT_FAILURE_DELAY_MS);
    this.#delays.add(timer);
  }

  // --- the session ----------------------------------------------------------------------

  #session(visitor: Visitor, session: Session): void {
    let pty: PseudoTtyInfo | undefined;
    let started = false;
    session.on('pty', (accept, reject, info) => {
      if (started) return reject?.();
      pty = info;
      accept?.();
    });
    session.on('window-change', (accept, _reject, info) => {
      accept?.();
      if (visitor.terminal) visitor.terminal.output.setSize(info.cols, info.rows);
      else if (pty) {
        const size = clampTerminalSize(info.cols, info.rows, { columns: pty.cols, rows: pty.rows });
        pty = { ...pty, cols: size.columns, rows: size.rows };
      }
    });
    session.on('shell', (accept) => {
      started = true;
      const channel = accept();
      if (!channel) return;
      if (!pty) this.#explainNoTerminal(visitor, channel, false);
      else this.#handOver(visitor, channel, pty);
    });
    session.on('exec', (accept) => {
      started = true;
      const channel = accept();
      if (channel) this.#explainNoTerminal(visitor, channel, pty !== undefined);
    });
    // env, subsystem (sftp), x11, auth-agent and signal have no listener: ssh2 refuses them.
  }

  /** Logged in but no terminal came (ssh -N): it would hold a connection nobody sees. */
  #noTerminalInTime(visitor: Visitor): void {
    if (visitor.terminal || this.#closing) return;
    if (!visitor.explained) this.#refused(visitor, visitor.role ?? '', 'no-session');
    endQuietly(visitor.client);
  }

  #explainNoTerminal(visitor: Visitor, channel: ServerChannel, raw: boolean): void {
    visitor.explained = true;
    this.#refused(visitor, visitor.role ?? '', 'no-terminal');
    channel.on('error', () => {});
    try {
      channel.stderr.write(`${NEEDS_TERMINAL}${raw ? '\r\n' : '\n'}`);
      channel.exit(1);
      channel.end();
    } catch {
      // the client is gone already
    }
  }

  #handOver(visitor: Visitor, channel: ServerChannel, pty: PseudoTtyInfo): void {
    const role = visitor.role;
    if (!role) {
      channel.end();
      return;
    }
    clearTimeout(visitor.terminalTimer);
    const count = (this.#counters.get(role) ?? 0) + 1;
    this.#counters.set(role, count);
    const id = count === 1 ? role : `${role}-${count}`;
    const terminal = new HelperSession({
      role,
      id,
      term: pty.term,
      from: visitor.from,
      columns: pty.cols,
      rows: pty.rows,
      channel,
      endConnection: () => endQuietly(visitor.client),
    });
    visitor.terminal = terminal;
    terminal.onClose(() => this.#emit({ type: 'left', role, id }));
    this.#emit({ type: 'joined', role, id, from: visitor.from });
    try {
      this.#options.onHelper(terminal);
    } catch (error) {
      // Thrown here, it would only end this connection inside ssh2, without a word anywhere.
      const message = error instanceof Error ? error.message : String(error);
      this.#emit({ type: 'failed', id, message });
      terminal.close(`nightshift could not show you the helper view: ${message}`);
    }
  }
}

function endQuietly(client: Connection): void {
  try {
    client.end();
  } catch {
    // already gone
  }
}

function rejectQuietly(ctx: AuthContext, methods: AuthenticationType[]): void {
  try {
    ctx.reject(methods);
  } catch {
    // the connection went away while the answer was being delayed
  }
}
