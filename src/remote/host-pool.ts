// The runbook's hosts as the rest of nightshift sees them: one SSH connection per host,
// opened on first use, replaced when it died, with its state published to subscribers.
import path from 'node:path';
import type { HostSpec } from '../runbook/types.js';
import type { KeyCache } from './auth.js';
import { SudoCredentials, type SudoAccess } from './become.js';
import type { Connection } from './connection.js';
import { readRunStateOn, stopRunOn, type DetachedRunState } from './detached-control.js';
import { releaseDetachedRun, runDetached } from './detached-run.js';
import { abortError, ConnectionLostError, isFinalLoginError, untilAborted } from './errors.js';
import { execOnConnection } from './exec.js';
import { probeSftpOn, type SftpFact } from './host-probes.js';
import { forwardRemotePort, type RemoteForward, type RemoteForwardOptions } from './forward.js';
import { openInteractiveShell } from './interactive-shell.js';
import { isTcpPortOpen } from './port-check.js';
import { uploadFile, type UploadOptions, type UploadResult } from './transfer.js';
import { uploadAsRoot } from './transfer-finish.js';
import { homeDir, resolveHost, resolveHostsAhead } from './ssh-config.js';
import { knownHostsName } from './known-hosts.js';
import type {
  ConnectionState,
  ConnectOptions,
  DetachedRunOptions,
  ExecHandlers,
  ExecResult,
  InteractiveShell,
  Releasable,
  ResolvedHost,
  ShellSize,
} from './types.js';

const DEFAULT_KEEPALIVE_INTERVAL_MS = 10_000;
const DEFAULT_RECONNECT_FOR_MS = 10 * 60_000;
/** Pauses between reconnect attempts: quick at first, then every 30 s. */
const RECONNECT_PAUSES_MS = [1000, 2000, 4000, 8000, 15_000, 30_000];
const KEEPALIVE_COUNT_MAX = 2;
const DEFAULT_READY_TIMEOUT_MS = 20_000;
const SYSTEM_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

interface HostSlot {
  resolved?: Promise<ResolvedHost>;
  connection?: Connection;
  /** A login going on (the first, or after a drop), tried again within the reconnect window: every caller waits for the same one. */
  loggingIn?: Promise<Connection>;
  /** The connection is the host check's, handed to the run, and nothing has used it since: a drop only forgets it. */
  keptUnused?: boolean;
  /** The runbook's last step there has started: its commands keep no shell ready for a next one. */
  lastStepStarted?: boolean;
}

function releaseKey(host: string, runId: string): string {
  return `${host}\0${runId}`;
}

export class HostPool {
  private readonly slots = new Map<string, HostSlot>();
  private readonly listeners = new Set<() => void>();
  private readonly keyCache: KeyCache = new Map();
  private readonly sudo: SudoCredentials;
  private snapshot: Record<string, ConnectionState>;
  /** The phase of the step being run, for declared host keys that change with the phases. */
  private phase: string | null = null;
  private closed = false;
  private readonly wakeOnClose = new Set<() => void>();
  /** Detached runs whose result was read over a channel that waits to be told to release their output. */
  private readonly releasable = new Map<string, Releasable>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly home: string;

  constructor(
    private readonly hosts: Record<string, HostSpec>,
    private readonly options: ConnectOptions,
  ) {
    this.env = options.env ?? process.env;
    this.sudo = new SudoCredentials(options.interaction, (host) => hosts[host]?.becomePty ?? false);
    this.home = homeDir(this.env);
    this.snapshot = Object.fromEntries(Object.keys(hosts).map((name) => [name, { state: 'idle' } as ConnectionState]));
  }

  /** Connection settings after ~/.ssh/config and the runbook were merged. */
  resolve(host: string): Promise<ResolvedHost> {
    const spec = this.hosts[host];
    if (!spec) return Promise.reject(this.unknownHost(host));
    const slot = this.slot(host);
    slot.resolved ??= resolveHost(spec, { configFile: this.sshConfigFile(), env: this.env }).catch((error: unknown) => {
      slot.resolved = undefined;
      throw error;
    });
    return slot.resolved;
  }

  /**
   * Starts working out the settings of `hosts` without waiting for them (`ssh -G` runs while
   * the caller loads what comes next); a failure is reported to whoever resolves the host.
   */
  resolveEarly(hosts: string[]): void {
    const settled = hosts.length === 1 ? this.resolve(hosts[0]!) : this.resolveAhead(hosts);
    settled.catch(() => undefined);
  }

  /** Works out the settings of `hosts` not resolved yet in one batch, ahead of their logins (a check of hundreds of hosts). */
  async resolveAhead(hosts: string[]): Promise<void> {
    const specs = hosts.flatMap((host) => {
      const spec = this.hosts[host];
      return spec && !this.slot(host).resolved ? [spec] : [];
    });
    if (specs.length < 2) return;
    const resolved = await resolveHostsAhead(specs, { configFile: this.sshConfigFile(), env: this.env });
    for (const [host, settings] of resolved) this.slot(host).resolved ??= Promise.resolve(settings);
  }

  /** The phase the run is in (null in the fallback): new logins check the keys declared for it. */
  setPhase(phase: string | null): void {
    this.phase = phase;
  }

  /** Spare ways in (runbook `spare_access`), by host: the port a login goes to when the main one does not answer. */
  private readonly spares = new Map<string, number>();

  /** Connections that went to a spare way in, and why. */
  private readonly throughSpare = new WeakMap<Connection, string>();

  /** Hosts whose last login found the main port silent and went to the spare: a jump through them goes there too. */
  private readonly mainSilent = new Set<string>();

  /** A spare way in to `host` proved to work (null: gone again). */
  setSpare(host: string, port: number | null): void {
    if (port === null) this.spares.delete(host);
    else this.spares.set(host, port);
  }

  /** Resolves when the host's current connection has dropped (at once when there is none). */
  whenDropped(host: string): Promise<void> {
    const connection = this.inUse(host)?.connection;
    if (!connection?.isAlive) return Promise.resolve();
    return new Promise((resolve) => connection.onDrop(() => resolve()));
  }

  /** Drops the host's connection on purpose (its state becomes closed); the next use logs in again. */
  async disconnect(host: string): Promise<void> {
    const slot = this.slots.get(host);
    const connection = slot?.connection;
    if (!slot || !connection) return;
    slot.connection = undefined;
    await connection.close();
    this.setState(host, { state: 'closed', since: Date.now() });
  }

  /**
   * The check before a run hands the pool over to the run: each host it logged in to stays
   * logged in (shown connected, `loggedInBy: check`, so that the run's journal tells that
   * login), every other host is idle again, as before any login; the keys it unlocked stay.
   * A kept connection that drops before anything uses it is forgotten quietly (idle again,
   * with why): the host may wait hours for its first step, which then logs in as usual.
   */
  handOverToRun(): void {
    for (const [host, slot] of this.slots) {
      const { connection } = slot;
      if (connection?.isAlive) {
        slot.keptUnused = true;
        this.setState(host, { state: 'connected', since: Date.now(), loggedInBy: 'check' });
        continue;
      }
      slot.connection = undefined;
      if (this.state(host).state !== 'idle') this.setState(host, { state: 'idle' });
    }
  }

  state(host: string): ConnectionState {
    return this.snapshot[host] ?? { state: 'idle' };
  }

  /** The same object until the next change, so it can be handed to React as is. */
  states(): Record<string, ConnectionState> {
    return this.snapshot;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Logs in now, once (or finds the host already logged in), and keeps the connection: for
   * a caller that reports a failure at once instead of waiting out the reconnect window.
   */
  async connect(host: string): Promise<void> {
    if (this.closed) throw new Error(`Cannot reach ${host}: the connections were already closed.`);
    if (!this.hosts[host]) throw this.unknownHost(host);
    const slot = this.used(host);
    if (slot.connection?.isAlive) return;
    if (slot.loggingIn) {
      await slot.loggingIn;
      return;
    }
    await this.open(host, slot);
  }

  async exec(host: string, command: string, handlers: ExecHandlers): Promise<ExecResult> {
    if (handlers.signal?.aborted) throw abortError();
    const connection = await untilAborted(this.connection(host), handlers.signal);
    return execOnConnection(connection, command, handlers, this.sudoFor(host, connection, handlers));
  }

  /** For `become: sudo`: how sudo is used on the host (its password asked once, kept in memory only). */
  private sudoFor(host: string, connection: Connection, handlers: Pick<ExecHandlers, 'become' | 'onNotice'>): SudoAccess | undefined {
    if (handlers.become !== 'sudo') return undefined;
    return this.sudo.accessFor(host, connection.host.user, handlers.onNotice);
  }

  /** A login shell on a pty, over the host's connection (logged in now if it is not: a human waits). */
  async openShell(host: string, size: ShellSize): Promise<InteractiveShell> {
    return openInteractiveShell(await this.connectionNow(host), size);
  }

  /** Exposes a local port on the host (ssh -R) over its current connection; it ends when that link drops. */
  async forward(host: string, options: RemoteForwardOptions): Promise<RemoteForward> {
    return forwardRemotePort(await this.connection(host), options);
  }

  /** Runs the command detached on the host: a dropped link is won back and the output followed on from where it stopped. */
  async runDetached(host: string, command: string, options: DetachedRunOptions): Promise<ExecResult> {
    if (options.signal?.aborted) throw abortError();
    const runDir = this.hosts[host]?.runDir;
    const key = releaseKey(host, options.runId);
    return runDetached(
      {
        current: (signal) => untilAborted(this.connection(host), signal),
        regain: (signal) => untilAborted(this.regain(host), signal),
        sudo: (connection) => this.sudoFor(host, connection, options),
      },
      command,
      { ...options, ...(runDir !== undefined ? { runDir } : {}), onReleasable: (releasable) => this.releasable.set(key, releasable) },
    );
  }

  /** Whether the host's SSH server opens an SFTP session, over the current login or one tried now (nightshift check). */
  async probeSftp(host: string, signal?: AbortSignal): Promise<SftpFact> {
    return probeSftpOn(await untilAborted(this.connectionNow(host), signal));
  }

  runDirOf(host: string): string | undefined {
    return this.hosts[host]?.runDir;
  }

  /** Logs in, within the reconnect window, unless the host is logged in already. */
  async ensureConnected(host: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError();
    await untilAborted(this.connection(host), signal);
  }

  /**
   * What a detached run's folder says: running (its pid), ended (its exit status), never
   * started. Over the current link or one login tried now: someone is waiting for the answer.
   */
  async detachedRunState(host: string, runId: string, signal?: AbortSignal, become?: 'sudo'): Promise<DetachedRunState> {
    const connection = await untilAborted(this.connectionNow(host), signal);
    return readRunStateOn({ connection, runId, runDir: this.runDirOf(host), signal, sudo: this.sudoFor(host, connection, become ? { become } : {}) });
  }

  /** TERMs a detached run that is still alive and waits a while for it to end; the state it was left in. */
  async stopDetachedRun(host: string, runId: string, signal?: AbortSignal, become?: 'sudo'): Promise<DetachedRunState> {
    const connection = await untilAborted(this.connectionNow(host), signal);
    return stopRunOn({ connection, runId, runDir: this.runDirOf(host), signal, sudo: this.sudoFor(host, connection, become ? { become } : {}) });
  }

  /**
   * A detached run's result is recorded: its output on the host can go. Over the current
   * link only; without one it stays there (it is never started again either way).
   */
  releaseRun(host: string, runId: string, become?: 'sudo'): void {
    const key = releaseKey(host, runId);
    const releasable = this.releasable.get(key);
    this.releasable.delete(key);
    if (releasable?.release()) return;
    const connection = this.inUse(host)?.connection;
    releaseDetachedRun(connection, runId, this.hosts[host]?.runDir, connection && this.sudoFor(host, connection, become ? { become } : {}));
  }

  /**
   * Uploads a file over SFTP, sha256 checked on the host. A dropped link is won back and
   * the upload resumed from the bytes already there.
   */
  async upload(
    host: string,
    localPath: string,
    remotePath: string,
    options: UploadOptions & { onNotice?(text: string): void; become?: 'sudo' } = {},
  ): Promise<UploadResult> {
    const { signal } = options;
    let connection = await untilAborted(this.connection(host), signal);
    for (;;) {
      try {
        const sudo = this.sudoFor(host, connection, options);
        if (sudo) return await uploadAsRoot(connection, localPath, remotePath, options, sudo, uploadFile);
        return await uploadFile(connection, localPath, remotePath, options);
      } catch (error) {
        if ((error as Error).name !== 'ConnectionLostError') throw error;
        options.onNotice?.(`nightshift: the link to ${host} dropped during the upload; reconnecting to resume it`);
        connection = await untilAborted(this.regain(host), signal);
        options.onNotice?.(`nightshift: reconnected to ${host}; resuming the upload`);
      }
    }
  }

  /**
   * Logs in again after a drop, with growing pauses, publishing each attempt; rejects when
   * the host is lost (the reconnect window passed, or a refusal that will not change).
   */
  regain(host: string): Promise<Connection> {
    const slot = this.used(host);
    if (slot.connection?.isAlive) return Promise.resolve(slot.connection);
    return this.logInWithinWindow(host, slot, true);
  }

  /**
   * One login at a time per host, shared by every caller. Transient failures (reset,
   * refused, timed out, dropped in the handshake) are tried again with growing pauses
   * within the reconnect window, whether the link dropped or was never up; refusals that
   * will not change (host key, authentication) end it at once.
   */
  private logInWithinWindow(host: string, slot: HostSlot, afterDrop: boolean): Promise<Connection> {
    slot.loggingIn ??= this.loginLoop(host, slot, afterDrop).finally(() => {
      slot.loggingIn = undefined;
    });
    return slot.loggingIn;
  }

  private async loginLoop(host: string, slot: HostSlot, afterDrop: boolean): Promise<Connection> {
    const since = Date.now();
    const window = this.options.reconnectForMs ?? DEFAULT_RECONNECT_FOR_MS;
    if (!afterDrop) this.setState(host, { state: 'connecting', since });
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new ConnectionLostError(`Cannot reach ${host}: the connections were closed.`);
      try {
        return await this.open(host, slot, false);
      } catch (error) {
        const message = (error as Error).message;
        const pause = RECONNECT_PAUSES_MS[Math.min(attempt - 1, RECONNECT_PAUSES_MS.length - 1)]!;
        const final = isFinalLoginError(error);
        if (this.closed) throw error;
        if (final || Date.now() + pause - since > window) {
          // A refusal when a step logs in is a failure to connect; anything else means the host is lost.
          this.setState(host, { state: final && !afterDrop ? 'failed' : 'lost', since: Date.now(), error: message });
          if (final) throw error;
          const seconds = Math.round(window / 1000);
          throw new ConnectionLostError(
            afterDrop
              ? `Lost ${host}: no login within ${seconds} s after the link dropped (last: ${message})`
              : `Cannot reach ${host}: no login within ${seconds} s of trying (last: ${message})`,
          );
        }
        this.setState(host, { state: 'reconnecting', since, attempt, nextTryAt: Date.now() + pause, error: message });
        await this.pause(pause);
      }
    }
  }

  /** Waits between login attempts; cut short when the pool is closed. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeOnClose.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeOnClose.add(wake);
    });
  }

  /** Whether a TCP connection to the host's resolved address and `port` succeeds within the time. */
  async isPortOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
    const resolved = await this.resolve(host);
    return isTcpPortOpen(resolved.address, port, timeoutMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.wakeOnClose]) wake();
    // Results nobody recorded: their channels end without a release, and the output stays.
    for (const releasable of this.releasable.values()) releasable.abandon();
    this.releasable.clear();
    const closing: Promise<void>[] = [];
    for (const [host, slot] of this.slots) {
      const { connection } = slot;
      slot.connection = undefined;
      if (connection) closing.push(connection.close());
      if (this.state(host).state !== 'idle') this.setState(host, { state: 'closed', since: Date.now() });
    }
    await Promise.all(closing);
  }

  private connection(host: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error(`Cannot reach ${host}: the connections were already closed.`));
    if (!this.hosts[host]) return Promise.reject(this.unknownHost(host));
    const slot = this.used(host);
    if (slot.connection?.isAlive) return Promise.resolve(slot.connection);
    return this.logInWithinWindow(host, slot, false);
  }

  /**
   * The live connection, or one login tried now, for a human waiting at a prompt: a login
   * already going on (within the reconnect window) is not waited for.
   */
  private connectionNow(host: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error(`Cannot reach ${host}: the connections were already closed.`));
    if (!this.hosts[host]) return Promise.reject(this.unknownHost(host));
    const slot = this.used(host);
    if (slot.connection?.isAlive) return Promise.resolve(slot.connection);
    if (slot.loggingIn)
      return Promise.reject(new ConnectionLostError(`${host} is not connected yet: nightshift is still trying to log in (see the status bar)`));
    slot.loggingIn = this.open(host, slot).finally(() => {
      slot.loggingIn = undefined;
    });
    return slot.loggingIn;
  }

  lastStepStarting(host: string): void {
    const slot = this.slot(host);
    slot.lastStepStarted = true;
    if (slot.connection) slot.connection.keepsShells = false;
  }

  /**
   * Runs one command over a login of its own, beside the pooled connection, then closes it:
   * proof that the host takes new logins now, which a link that survived a change is not.
   * `readyTimeoutMs` bounds the login.
   */
  async execOnNewConnection(host: string, command: string, handlers: ExecHandlers & { readyTimeoutMs?: number; port?: number }): Promise<ExecResult> {
    if (this.closed) throw new Error(`Cannot reach ${host}: the connections were already closed.`);
    if (!this.hosts[host]) throw this.unknownHost(host);
    const login = this.login(host, handlers.readyTimeoutMs, handlers.port);
    let connection: Connection;
    try {
      connection = await untilAborted(login, handlers.signal);
    } catch (error) {
      // Aborted while logging in: the login may still succeed and must not stay open.
      login.then(
        (late) => late.close(),
        () => {},
      );
      throw error;
    }
    try {
      return await execOnConnection(connection, command, handlers, this.sudoFor(host, connection, handlers));
    } finally {
      await connection.close();
    }
  }

  /**
   * Logs in to the host's port, or to `port` (its spare way in). When the main port does not
   * answer and a spare way in is up, the login goes there: the same host key is expected.
   */
  private async login(host: string, readyTimeoutMs?: number, port?: number): Promise<Connection> {
    const main = await this.resolve(host);
    if (port !== undefined) return this.loginTo(host, await this.spareSettings(host, main, port), readyTimeoutMs);
    try {
      const connection = await this.loginTo(host, main, readyTimeoutMs);
      this.mainSilent.delete(host);
      return connection;
    } catch (error) {
      const spare = this.spares.get(host);
      if (spare === undefined || isFinalLoginError(error) || this.closed) throw error;
      const settings = await this.spareSettings(host, main, spare);
      const connection = await this.loginTo(host, settings, readyTimeoutMs).catch((second: unknown) => {
        throw new Error(`${(error as Error).message}; its spare way in on port ${spare} did not answer either: ${(second as Error).message}`, { cause: error });
      });
      this.throughSpare.set(connection, `the spare way in on port ${spare} (the main port: ${(error as Error).message})`);
      this.mainSilent.add(host);
      return connection;
    }
  }

  /**
   * The host's settings for its spare way in: another port, the key looked up under the main
   * port's name. A ProxyCommand was expanded for the main port: it is worked out again.
   */
  private async spareSettings(host: string, main: ResolvedHost, port: number): Promise<ResolvedHost> {
    const spec = this.hosts[host];
    const settings = main.proxyCommand !== undefined && spec ? await resolveHost({ ...spec, port }, { configFile: this.sshConfigFile(), env: this.env }) : main;
    return { ...settings, port, hostKeyAlias: main.hostKeyAlias ?? knownHostsName(main.address, main.port) };
  }

  /** A jump host's settings: through its spare way in while its main port is silent. */
  private async jumpSettings(spec: HostSpec): Promise<ResolvedHost> {
    const settings = await resolveHost(spec, { configFile: this.sshConfigFile(), env: this.env });
    const spare = this.spares.get(spec.name);
    const own = this.hosts[spec.name];
    // The runbook's host as itself, not a hop that names another user or port.
    const same = own !== undefined && spec.port === own.port && spec.user === own.user;
    return spare !== undefined && same && this.mainSilent.has(spec.name) ? this.spareSettings(spec.name, settings, spare) : settings;
  }

  private async loginTo(host: string, resolved: ResolvedHost, readyTimeoutMs?: number): Promise<Connection> {
    // ssh2 loads with the first login, not at start-up: the screen is drawn before it.
    const { openConnection } = await import('./open-connection.js');
    return openConnection({
      host: resolved,
      declaredKeys: this.hosts[host]?.hostKeys,
      phase: this.phase,
      phaseOrder: this.options.phaseOrder,
      jumps: { hosts: this.hosts, resolve: (spec) => this.jumpSettings(spec) },
      knownHostsFiles: this.knownHostsFiles(),
      pinKnownHostsFiles: this.options.knownHostsFiles !== undefined,
      defaultKnownHostsFile: path.join(this.home, '.ssh', 'known_hosts'),
      interaction: this.options.interaction,
      agentSocket: this.env['SSH_AUTH_SOCK'] || undefined,
      home: this.home,
      keyCache: this.keyCache,
      keepaliveIntervalMs: this.options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      readyTimeoutMs: Math.min(readyTimeoutMs ?? Infinity, this.options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS),
    });
  }

  private async open(host: string, slot: HostSlot, announce = true): Promise<Connection> {
    if (announce) this.setState(host, { state: 'connecting', since: Date.now() });
    let connection: Connection;
    try {
      connection = await this.login(host);
    } catch (error) {
      if (!this.closed && announce) this.setState(host, { state: 'failed', since: Date.now(), error: (error as Error).message });
      throw error;
    }
    if (this.closed) {
      await connection.close();
      throw new Error(`Cannot reach ${host}: the connections were closed while it was connecting.`);
    }
    slot.connection = connection;
    slot.keptUnused = false;
    // The run's own connection: each command keeps a shell ready for the next (warm-shell.ts).
    // Not on dropbear, which closes or refuses a channel opened while another ends
    // (mkj/dropbear#173, #321), as an unused shell does; nor on servers not known to be fit.
    connection.keepsShells = !slot.lastStepStarted && connection.serverSoftware.startsWith('OpenSSH');
    connection.onDrop((reason) => {
      if (slot.connection !== connection) return;
      slot.connection = undefined;
      if (slot.keptUnused) {
        slot.keptUnused = false;
        this.setState(host, {
          state: 'idle',
          error: `the link kept from the check dropped before a step used it (${reason}); the next step there logs in again`,
        });
        return;
      }
      this.setState(host, { state: 'failed', since: Date.now(), error: reason });
    });
    const through = this.throughSpare.get(connection);
    this.setState(host, { state: 'connected', since: Date.now(), ...(through !== undefined ? { through } : {}) });
    return connection;
  }

  /** The host's slot for a caller that uses its connection: a drop from now on is the caller's to hear of. */
  private used(host: string): HostSlot {
    const slot = this.slot(host);
    slot.keptUnused = false;
    return slot;
  }

  private inUse(host: string): HostSlot | undefined {
    const slot = this.slots.get(host);
    if (slot) slot.keptUnused = false;
    return slot;
  }

  private slot(host: string): HostSlot {
    let slot = this.slots.get(host);
    if (!slot) this.slots.set(host, (slot = {}));
    return slot;
  }

  private setState(host: string, state: ConnectionState): void {
    this.snapshot = { ...this.snapshot, [host]: state };
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        // A broken listener must not leave a connection half set up.
        process.emitWarning(`nightshift: a host state listener failed: ${(error as Error).stack ?? String(error)}`);
      }
    }
  }

  private sshConfigFile(): string {
    return this.options.sshConfigFile ?? path.join(this.home, '.ssh', 'config');
  }

  private knownHostsFiles(): string[] {
    return this.options.knownHostsFiles ?? [path.join(this.home, '.ssh', 'known_hosts'), SYSTEM_KNOWN_HOSTS];
  }

  private unknownHost(host: string): Error {
    const names = Object.keys(this.hosts);
    return new Error(`Unknown host ${host}: the runbook defines ${names.length > 0 ? names.join(', ') : 'no hosts'}.`);
  }
}
