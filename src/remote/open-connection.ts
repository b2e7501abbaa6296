// Logging in: TCP, handshake with the host key checked against known_hosts, public key
// login. Failures come out as the errors of errors.ts.
import ssh2, { type ClientErrorExtensions } from 'ssh2';
import { PublicKeyLogin, type KeyCache } from './auth.js';
import { Connection } from './connection.js';
import { Deadline } from './deadline.js';
import { ConnectError, removeKeyCommand, UnknownHostKeyRejectedError } from './errors.js';
import { checkHostKey, describeHostKey, hostKeyAlgorithms, type HostKeyCheckTarget } from './host-key-check.js';
import { appendKnownHost, loadKnownHosts, lookupHostKeys } from './known-hosts.js';
import type { RemoteInteraction, ResolvedHost } from './types.js';

export interface ConnectionSettings {
  host: ResolvedHost;
  /** In order; new keys are recorded in the first. */
  knownHostsFiles: string[];
  /** The file `ssh-keygen -R` edits without -f. */
  defaultKnownHostsFile: string;
  interaction: RemoteInteraction;
  agentSocket: string | undefined;
  home: string;
  keyCache: KeyCache;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  readyTimeoutMs: number;
}

// ssh2 is CommonJS: Node's ESM loader only sees some of its exports as named ones.
const { Client } = ssh2;

type SshError = Error & ClientErrorExtensions & { code?: string | number };

/**
 * Logs in. When the link was lost while a human was answering (sshd's LoginGraceTime is
 * two minutes), one more attempt is made: the answers (recorded key, unlocked key) are kept.
 */
export async function openConnection(settings: ConnectionSettings): Promise<Connection> {
  const first = await attempt(settings);
  if (first.connection) return first.connection;
  if (first.error instanceof ConnectError && first.askedHuman) {
    const second = await attempt(settings);
    if (second.connection) return second.connection;
    throw second.error;
  }
  throw first.error;
}

type AttemptResult = { connection: Connection; error?: undefined; askedHuman: boolean } | { connection?: undefined; error: Error; askedHuman: boolean };

async function attempt(settings: ConnectionSettings): Promise<AttemptResult> {
  const { host } = settings;
  const records = lookupHostKeys(await loadKnownHosts(settings.knownHostsFiles), host.address, host.port);
  const recordedTypes = [...new Set(records.keys.map((known) => known.keyType))];
  const target: HostKeyCheckTarget = {
    host: host.name,
    address: host.address,
    port: host.port,
    removeCommand: (source) => removeCommandFor(settings, source),
  };

  return new Promise<AttemptResult>((resolve) => {
    const client = new Client();
    let askedHuman = false;
    let settled = false;
    // A refusal decided by us (host key) wins over ssh2's generic "Host denied".
    let refusal: Error | undefined;
    let authenticating = false;

    const deadline = new Deadline(settings.readyTimeoutMs, () =>
      fail(
        new ConnectError(
          `Could not connect to ${host.name} at ${host.address}:${host.port}: no SSH login within ${seconds(settings.readyTimeoutMs)} ` +
            `(TCP connect, handshake and login). Check that the machine is up and reachable.`,
        ),
      ),
    );
    const questions = new Set<Promise<unknown>>();
    const askHuman = async <T>(question: () => Promise<T>): Promise<T> => {
      askedHuman = true;
      deadline.pause();
      const asking = question();
      questions.add(asking);
      try {
        return await asking;
      } finally {
        questions.delete(asking);
        deadline.resume();
      }
    };

    const login = new PublicKeyLogin({
      host,
      agentSocket: settings.agentSocket,
      home: settings.home,
      keyCache: settings.keyCache,
      askPassphrase: (file) => askHuman(() => settings.interaction.askPassphrase(file)),
    });

    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      deadline.stop();
      client.removeListener('ready', onReady);
      client.destroy();
      // The link may drop while a human is still answering: let them finish, so that an
      // accepted key is recorded (or a declined one reported) before any new attempt.
      const answered = Promise.allSettled([...questions]);
      void answered.then(() => resolve({ error: refusal ?? error, askedHuman }));
    };
    const onReady = () => {
      if (settled) return;
      settled = true;
      // Commands are small request/reply exchanges; Nagle would hold each back for an ACK.
      client.setNoDelay(true);
      deadline.stop();
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      resolve({ connection, askedHuman });
    };
    const onError = (error: SshError) => {
      if (error.level === 'agent') return login.noteAgentError(error);
      if (error.level === 'client-authentication') {
        // Signing trouble with one key: ssh2 goes on with the next.
        if (error.message !== 'All configured authentication methods failed') return;
        return fail(login.failure());
      }
      if (refusal) return fail(refusal);
      if (authenticating && /authentication/i.test(error.message)) return fail(login.failure());
      fail(connectError(host, error));
    };
    const onClose = () =>
      fail(
        refusal ??
          new ConnectError(
            `Could not connect to ${host.name} at ${host.address}:${host.port}: the server closed the connection during ` +
              `${authenticating ? 'login' : 'the handshake'}${askedHuman ? ' while nightshift waited for an answer' : ''}. ` +
              `Try again; if it keeps happening, read the server's sshd log.`,
          ),
      );

    // Registered before Connection's own listeners so that login errors are classified here first.
    client.on('error', onError);
    client.on('close', onClose);
    client.once('handshake', () => {
      authenticating = true;
    });
    client.once('ready', onReady);
    const connection = new Connection(client, host);

    const hostVerifier = (key: Buffer, verify: (valid: boolean) => void): void => {
      const verdict = checkHostKey(records, target, key);
      if (verdict.kind === 'known') return verify(true);
      if (verdict.kind === 'refused') {
        refusal = verdict.error;
        return verify(false);
      }
      const info = describeHostKey(target, key);
      // The answer and its recording are one piece of work: a retry must not start in between.
      void askHuman(async () => {
        if (!(await settings.interaction.confirmUnknownHostKey(info))) {
          refusal = new UnknownHostKeyRejectedError(info);
          return false;
        }
        // Recorded even if the link dropped meanwhile: the human accepted this key.
        const file = settings.knownHostsFiles[0];
        try {
          if (file) await appendKnownHost(file, host.address, host.port, key);
          return true;
        } catch (error) {
          // Not a ConnectError: trying again would only ask the same question again.
          refusal = new Error(`Could not record the host key of ${host.name} in ${file}: ${(error as Error).message}.`, { cause: error });
          return false;
        }
      }).then(
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
      client.connect({
        host: host.address,
        port: host.port,
        username: host.user,
        hostVerifier,
        authHandler: login.handler,
        algorithms: { serverHostKey: hostKeyAlgorithms(recordedTypes) },
        keepaliveInterval: settings.keepaliveIntervalMs,
        keepaliveCountMax: settings.keepaliveCountMax,
        // Our own Deadline replaces readyTimeout: it pauses while a human answers.
        readyTimeout: 0,
      });
    } catch (error) {
      fail(connectError(host, error as SshError));
    }
  });
}

function connectError(host: ResolvedHost, error: SshError): ConnectError {
  const where = `${host.name} at ${host.address}:${host.port}`;
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

function removeCommandFor(settings: ConnectionSettings, source: string): string {
  const file = source.replace(/:\d+$/, '');
  return removeKeyCommand(settings.host.address, settings.host.port, file, settings.defaultKnownHostsFile);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
