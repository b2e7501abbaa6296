// Logging in: TCP (or a channel through jump hosts), handshake with the host key checked
// against known_hosts or the runbook's declared keys, public key login. Failures come out
// as the errors of errors.ts.
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { reuseDataPackets } from './packet-reuse.js';
import { acceptOnlySignatureAlgorithms, askLoginWithServiceRequest, signKeyFilesAtOnce, ssh2, ssh2Algorithms, ssh2Loaded } from './ssh2.js';
import type { Client as SshClient, ClientErrorExtensions } from 'ssh2';
import type { HostKeyExpectation } from '../runbook/types.js';
import { HandshakeLog, mismatchKind, noCommonAlgorithm, offerFor, type Offer } from './algorithms.js';
import { certificatesRefused, PublicKeyLogin, type KeyCache } from './auth.js';
import { Connection } from './connection.js';
import { declaredKeysPolicy } from './declared-keys.js';
import { CLIENT_IDENT, EarlySocket } from './early-socket.js';
import { ConnectError, removeKeyCommand, UnknownHostKeyRejectedError } from './errors.js';
import { describeHostKey, knownHostsPolicy, type HostKeyCheckTarget, type HostKeyPolicy } from './host-key-check.js';
import { JumpLinks } from './jump-links.js';
import { knownHostsName, loadKnownHosts, lookupHostKeysByName, recordKnownHost } from './known-hosts.js';
import { proxyCommandOf, ProxyCommandTransport } from './proxy-command.js';
import { resolveJumpHosts, type JumpContext, type RouteHost } from './proxy-jump.js';
import { LoginClock } from './login-clock.js';
import { resolveHost } from './ssh-config.js';
import type { RemoteInteraction, ResolvedHost } from './types.js';

export interface ConnectionSettings {
  host: ResolvedHost;
  /** The runbook's host_keys for the host: when given, the only keys accepted, and known_hosts is left alone. */
  declaredKeys?: HostKeyExpectation[];
  /** The run's phase, for declared keys; null (the default) is the fallback, where every declared key is accepted. */
  phase?: string | null;
  /** The runbook's phase names in order. */
  phaseOrder?: string[];
  /** Where the hops of host.proxyJump are looked up (default: no runbook hosts, and HOME/.ssh/config). */
  jumps?: JumpContext;
  /**
   * In order; new keys are recorded in the first. A host's own UserKnownHostsFile and
   * GlobalKnownHostsFile take their place unless `pinKnownHostsFiles`.
   */
  knownHostsFiles: string[];
  /** The caller chose the known_hosts files: the ssh config's are not used. */
  pinKnownHostsFiles?: boolean;
  /** The file `ssh-keygen -R` edits without -f. */
  defaultKnownHostsFile: string;
  interaction: RemoteInteraction;
  /** SSH_AUTH_SOCK, when set: the agent unless a host's IdentityAgent says otherwise. */
  agentSocket: string | undefined;
  home: string;
  keyCache: KeyCache;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  readyTimeoutMs: number;
}

/** How long the first login waits for its TCP connection before ssh2 loads (which holds Node for some 50 ms). */
const EARLY_CONNECT_WAIT_MS = 3;

type SshError = Error & ClientErrorExtensions & { code?: string | number };

/** One machine to log in to on the route, and how messages name it. */
interface RouteStop extends RouteHost {
  /** e.g. "bastion at 127.0.0.1:2222 (jump host for dragon)" */
  where: string;
}

/**
 * Logs in, through the jump hosts first when there are any. When the link was lost while a
 * human was answering (sshd's LoginGraceTime is two minutes), one more attempt is made: the
 * answers (recorded key, unlocked key) are kept.
 */
export async function openConnection(settings: ConnectionSettings): Promise<Connection> {
  const route = await routeTo(settings);
  // The route's first machine is connected to before anything else of the login is done.
  const early = proxyCommandOf(route[0]!.host) === undefined ? new EarlySocket(route[0]!.host.address, route[0]!.host.port) : undefined;
  try {
    // Node writes the line once connected, which it cannot do while ssh2 loads.
    if (!ssh2Loaded()) await early?.connectedOrAfter(EARLY_CONNECT_WAIT_MS);
    const first = await attempt(settings, route, early);
    if (first.connection) return first.connection;
    if (first.error instanceof ConnectError && first.askedHuman) {
      const second = await attempt(settings, route);
      if (second.connection) return second.connection;
      throw second.error;
    }
    throw first.error;
  } finally {
    early?.discard();
  }
}

async function routeTo(settings: ConnectionSettings): Promise<RouteStop[]> {
  const { host } = settings;
  const jumps: JumpContext = settings.jumps ?? {
    hosts: {},
    resolve: (spec) => resolveHost(spec, { configFile: path.join(settings.home, '.ssh', 'config'), env: { HOME: settings.home } }),
  };
  const hops = await resolveJumpHosts(host, jumps);
  const at = (stop: ResolvedHost) => `${stop.name} at ${stop.address}:${stop.port}`;
  return [
    ...hops.map((hop) => ({ ...hop, where: `${at(hop.host)} (jump host for ${host.name})` })),
    {
      host,
      ...(settings.declaredKeys !== undefined ? { declaredKeys: settings.declaredKeys } : {}),
      where: hops.length > 0 ? `${at(host)} through ${hops.map((hop) => hop.host.name).join(', ')}` : at(host),
    },
  ];
}

type AttemptResult = { connection: Connection; error?: undefined; askedHuman: boolean } | { connection?: undefined; error: Error; askedHuman: boolean };

async function attempt(settings: ConnectionSettings, route: RouteStop[], early?: EarlySocket): Promise<AttemptResult> {
  const clock = new LoginClock(settings.readyTimeoutMs);
  const links = new JumpLinks();
  const destination = route[route.length - 1]!;
  try {
    let via: Duplex | ProxyCommandTransport | undefined;
    const proxyCommand = proxyCommandOf(route[0]!.host);
    if (proxyCommand !== undefined) via = new ProxyCommandTransport(proxyCommand);
    // The connection opened ahead is the first machine's, when it is reached over TCP.
    let ahead = via === undefined ? early : undefined;
    for (const [index, hop] of route.slice(0, -1).entries()) {
      const client = await logIn(
        settings,
        hop,
        via,
        clock,
        route.length > 1,
        (fresh) => {
          links.add(fresh, hop.host);
          return fresh;
        },
        ahead,
      );
      ahead = undefined;
      via = await forwardTo(client, hop, route[index + 1]!, clock);
    }
    const connection = await logIn(
      settings,
      destination,
      via,
      clock,
      route.length > 1,
      (client) => {
        links.carry(client);
        return new Connection(client, destination.host);
      },
      ahead,
    );
    return { connection, askedHuman: clock.askedHuman };
  } catch (error) {
    links.destroy();
    return { error: error as Error, askedHuman: clock.askedHuman };
  } finally {
    clock.stop();
  }
}

/**
 * Logs in to one machine of the route, over `via` (a channel through the previous hop) or
 * TCP. `keep` wraps the client before it connects, so that its listeners come after the
 * login's own: login errors are classified here first.
 */
async function logIn<T>(
  settings: ConnectionSettings,
  stop: RouteStop,
  via: Duplex | ProxyCommandTransport | undefined,
  clock: LoginClock,
  jumping: boolean,
  keep: (client: SshClient) => T,
  early?: EarlySocket,
): Promise<T> {
  const { host } = stop;
  if (host.certificateFiles && host.certificateFiles.length > 0) throw certificatesRefused(host);
  const policy = await hostKeyPolicy(settings, stop);
  const offer: Offer = offerFor(host.algorithms, policy.algorithms, ssh2Algorithms(), host.name);
  const handshakeLog = new HandshakeLog();
  const proxy = via instanceof ProxyCommandTransport ? via : undefined;
  const agentSocket = agentSocketFor(settings, host);

  return new Promise<T>((resolve, reject) => {
    const client = new (ssh2().Client)();
    let settled = false;
    // A refusal decided by us (host key) wins over ssh2's generic "Host denied".
    let refusal: Error | undefined;
    let authenticating = false;

    clock.whenExpired(() =>
      fail(
        new ConnectError(
          `Could not connect to ${stop.where}: no SSH login within ${seconds(settings.readyTimeoutMs)} ` +
            `(TCP connect, handshake and login${jumping ? ', jump hosts included' : ''}). Check that the machine is up and reachable.`,
        ),
      ),
    );

    const login = new PublicKeyLogin({
      host,
      agentSocket,
      home: settings.home,
      keyCache: settings.keyCache,
      askPassphrase: (file, retry) => clock.ask(() => settings.interaction.askPassphrase(file, retry)),
    });

    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clock.stop();
      client.removeListener('ready', onReady);
      client.destroy();
      // The link may drop while a human is still answering: let them finish, so that an
      // accepted key is recorded (or a declined one reported) before any new attempt.
      void clock
        .answered()
        .then(() => (proxy && !refusal ? proxyFailure(proxy, stop.where, error) : error))
        .then((reason) => reject(refusal ?? reason));
    };
    const onReady = () => {
      if (settled) return;
      settled = true;
      // Commands are small request/reply exchanges; Nagle would hold each back for an ACK.
      client.setNoDelay(true);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      resolve(kept);
    };
    const onError = (error: SshError) => {
      if (error.level === 'agent') return login.noteAgentError(error);
      const mismatch = error.level === 'handshake' ? mismatchKind(error.message) : null;
      if (mismatch && !refusal) return fail(noCommonAlgorithm(stop.where, mismatch, offer, handshakeLog, ssh2Algorithms().supported));
      // sshd's MaxAuthTries: it disconnects with this reason, not a failed method.
      if (authenticating && /too many authentication failures/i.test(error.message)) return fail(login.tooManyAttempts(error.message));
      if (error.level === 'client-authentication') {
        // Signing trouble with one key: ssh2 goes on with the next.
        if (error.message !== 'All configured authentication methods failed') return;
        return fail(login.failure());
      }
      if (refusal) return fail(refusal);
      if (authenticating && /authentication/i.test(error.message)) return fail(login.failure());
      fail(connectError(stop.where, host, error));
    };
    const onClose = () =>
      fail(
        refusal ??
          new ConnectError(
            `Could not connect to ${stop.where}: the server closed the connection during ` +
              `${authenticating ? 'login' : 'the handshake'}${clock.askedHuman ? ' while nightshift waited for an answer' : ''}. ` +
              `Try again; if it keeps happening, read the server's sshd log.`,
          ),
      );

    client.on('error', onError);
    client.on('close', onClose);
    client.once('handshake', () => {
      authenticating = true;
      handshakeLog.stop();
    });
    if (proxy) client.once('close', () => proxy.kill());
    client.once('ready', onReady);
    const kept = keep(client);

    const hostVerifier = (key: Buffer, verify: (valid: boolean) => void): void => {
      const verdict = policy.check(key);
      if (verdict.kind === 'known') return verify(true);
      if (verdict.kind === 'refused') {
        refusal = verdict.error;
        return verify(false);
      }
      const info = describeHostKey(keyCheckTarget(settings, host), key);
      // The answer and its recording are one piece of work: a retry must not start in between.
      void clock
        .ask(async () => {
          if (!(await settings.interaction.confirmUnknownHostKey(info))) {
            refusal = new UnknownHostKeyRejectedError(info);
            return false;
          }
          // Recorded even if the link dropped meanwhile: the human accepted this key.
          const file = knownHostsFilesFor(settings, host)[0];
          try {
            if (file) await recordKnownHost(file, knownHostsNameOf(host), key, { hashed: host.hashKnownHosts === true });
            return true;
          } catch (error) {
            // Not a ConnectError: trying again would only ask the same question again.
            refusal = new Error(`Could not record the host key of ${host.name} in ${file}: ${(error as Error).message}.`, { cause: error });
            return false;
          }
        })
        .then(
          (accepted) => {
            if (!settled) verify(accepted);
          },
          (error: unknown) => {
            refusal = error as Error;
            if (!settled) verify(false);
          },
        );
    };

    try {
      const sock = via ? (via instanceof ProxyCommandTransport ? via.stream : via) : early?.take();
      // The connection opened ahead failed before ssh2 got it: reported as ssh2 reports its own.
      if (sock instanceof Error) return fail(connectError(stop.where, host, sock));
      client.connect({
        ...(sock ? { sock } : { host: host.address, port: host.port }),
        username: host.user,
        // The same line an EarlySocket sent for ssh2 (it drops ssh2's own).
        ident: CLIENT_IDENT,
        hostVerifier,
        authHandler: login.handler,
        // ssh2's types list the names it knows; offerFor kept only those.
        algorithms: offer as never,
        debug: handshakeLog.debug,
        // ForwardAgent: ssh2 asks for agent forwarding on every command's channel.
        ...(host.forwardAgent && agentSocket ? { agent: agentSocket, agentForward: true } : {}),
        keepaliveInterval: settings.keepaliveIntervalMs,
        keepaliveCountMax: settings.keepaliveCountMax,
        // Our own LoginClock replaces readyTimeout: it pauses while a human answers.
        readyTimeout: 0,
      });
      if (host.algorithms?.pubkey) acceptOnlySignatureAlgorithms(client, host.algorithms.pubkey);
      signKeyFilesAtOnce(client);
      askLoginWithServiceRequest(client);
      reuseDataPackets(client);
    } catch (error) {
      fail(connectError(stop.where, host, error as SshError));
    }
  });
}

/** A channel from `hop` to the next machine's address and port, for the next login to run over. */
function forwardTo(hop: SshClient, from: RouteStop, next: RouteStop, clock: LoginClock): Promise<Duplex> {
  const { address, port, name } = next.host;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    clock.whenExpired(() =>
      settle(() =>
        reject(
          new ConnectError(
            `Could not connect to ${next.where}: the jump host ${from.host.name} did not open a connection to it in time. ` +
              `Check that the machine is up and that ${from.host.name} can reach it.`,
          ),
        ),
      ),
    );
    const opened = (error: Error | undefined, channel: Duplex) => {
      if (!error) {
        // The next machine's sshd ends its side only with the connection (killed, a reboot).
        // ssh2 then stops the keepalives of the login over this channel and waits for a
        // close, which a half-open channel gets only once something is written to it: closed
        // here, the login hears of the end at once.
        channel.once('end', () => channel.destroy());
        return settle(() => resolve(channel));
      }
      const reason = error.message.replace(/^(\(SSH\) )?(Channel open failure: )?/, '').replace(/\.$/, '');
      settle(() =>
        reject(
          new ConnectError(
            `Could not connect to ${name} at ${address}:${port}: the jump host ${from.host.name} could not open a connection to it (${reason}). ` +
              `Check that the machine is up and that ${from.host.name} can reach ${address}:${port}.`,
            error,
          ),
        ),
      );
    };
    try {
      // The originator address is only informative for the server; ssh -W sends the same.
      hop.forwardOut('127.0.0.1', 0, address, port, opened);
    } catch (error) {
      opened(error as Error, undefined as unknown as Duplex);
    }
  });
}

async function hostKeyPolicy(settings: ConnectionSettings, stop: RouteStop): Promise<HostKeyPolicy> {
  const target = keyCheckTarget(settings, stop.host);
  if (stop.declaredKeys !== undefined) {
    return declaredKeysPolicy(target, stop.declaredKeys, { phase: settings.phase ?? null, order: settings.phaseOrder ?? [] });
  }
  const records = lookupHostKeysByName(await loadKnownHosts(knownHostsFilesFor(settings, stop.host)), knownHostsNameOf(stop.host));
  return knownHostsPolicy(records, target);
}

/** The name the host's key is looked up and recorded under: its HostKeyAlias as it is, else [address]:port. */
function knownHostsNameOf(host: ResolvedHost): string {
  return host.hostKeyAlias ?? knownHostsName(host.address, host.port);
}

const GLOBAL_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

/** UserKnownHostsFile then GlobalKnownHostsFile when the ssh config gave them (and the caller did not pin the files). */
function knownHostsFilesFor(settings: ConnectionSettings, host: ResolvedHost): string[] {
  if (settings.pinKnownHostsFiles || (host.userKnownHostsFiles === undefined && host.globalKnownHostsFiles === undefined)) {
    return settings.knownHostsFiles;
  }
  // /dev/null (or none) is how a config switches host key checking off for ssh: here it does
  // not, the usual files stand in for it, and an unknown key is asked about and recorded there.
  const real = (files: string[] | undefined) => (files ?? []).filter((file) => !/^(none|\/dev\/null)$/i.test(file));
  const user = real(host.userKnownHostsFiles);
  const global = real(host.globalKnownHostsFiles);
  return [...(user.length > 0 ? user : [settings.defaultKnownHostsFile]), ...(global.length > 0 ? global : [GLOBAL_KNOWN_HOSTS])].map((file) =>
    expandTilde(file, settings.home),
  );
}

/** `~/` as HOME (ssh -G gives the files expanded; the own parser may not). */
function expandTilde(file: string, home: string): string {
  return file.startsWith('~/') ? path.join(home, file.slice(2)) : file;
}

/** IdentityAgent: a socket path, none, or SSH_AUTH_SOCK (the environment's). Absent: SSH_AUTH_SOCK. */
function agentSocketFor(settings: ConnectionSettings, host: ResolvedHost): string | undefined {
  const configured = host.identityAgent?.trim();
  if (configured === undefined || configured === '' || /^\$?\{?SSH_AUTH_SOCK\}?$/.test(configured)) return settings.agentSocket;
  if (configured.toLowerCase() === 'none') return undefined;
  return expandTilde(configured, settings.home);
}

/** A login over a ProxyCommand that failed: when the command ended by itself, that is the news. */
async function proxyFailure(proxy: ProxyCommandTransport, where: string, error: Error): Promise<Error> {
  await Promise.race([proxy.exited(), new Promise((resolve) => setTimeout(resolve, 1000))]);
  const outcome = proxy.outcome();
  if (outcome === undefined) return error;
  return new ConnectError(
    `Could not connect to ${where}: its ProxyCommand (${proxy.command}) ${outcome}. Check the ProxyCommand for the host in the ssh config.`,
    error,
  );
}

function keyCheckTarget(settings: ConnectionSettings, host: ResolvedHost): HostKeyCheckTarget {
  return {
    host: host.name,
    address: host.address,
    port: host.port,
    removeCommand: (source) => removeKeyCommand(host.address, host.port, source.replace(/:\d+$/, ''), settings.defaultKnownHostsFile, host.hostKeyAlias),
  };
}

function connectError(where: string, host: ResolvedHost, error: SshError): ConnectError {
  const because = (text: string, advice: string) => new ConnectError(`Could not connect to ${where}: ${text}. ${advice}`, error);
  switch (error.code) {
    case 'ECONNREFUSED':
      return because('the connection was refused', `Check that the machine is up and that sshd listens on port ${host.port}.`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return because(`the name ${host.address} does not resolve`, "Check the host's address in the runbook or the ssh config.");
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return because(`there is no route to ${host.address}`, 'Check the network path to the machine.');
    case 'ETIMEDOUT':
      return because('the TCP connection timed out', 'Check that the machine is up and reachable.');
    case 'ECONNRESET':
      return because('the connection was reset', 'Check that the machine runs an SSH server on that port.');
  }
  if (error.level === 'handshake' || error.level === 'protocol') {
    return because(`the SSH handshake failed (${error.message})`, 'Check that the machine runs an SSH server on that port.');
  }
  return because(error.message.replace(/\.$/, ''), 'Check the machine and the network, then try again.');
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
