// The refusals and failures of the SSH layer, each with a one-sentence message that says
// what happened and what to do. Callers tell them apart by `name` (it survives bundling).
import type { HostKeyInfo, RecordedHostKey } from './types.js';
import { knownHostsName } from './known-hosts.js';

/** The server's key differs from the one recorded for it (or is of a type never recorded for it). */
export class HostKeyMismatchError extends Error {
  override readonly name = 'HostKeyMismatchError';
  constructor(
    readonly expected: RecordedHostKey,
    readonly received: HostKeyInfo,
    /** The command that removes the old key, e.g. ssh-keygen -R '[127.0.0.1]:2222' */
    readonly removeCommand: string,
  ) {
    super(
      `The host key of ${received.host} (${received.address}:${received.port}) does not match: ` +
        `known_hosts has ${expected.fingerprint} (${expected.keyType}, ${expected.source}), ` +
        `the server sent ${received.fingerprint} (${received.keyType}). Refusing to connect. ` +
        `If the machine was really reinstalled, remove the old key with: ${removeCommand}`,
    );
  }
}

/** The server's key is marked @revoked in known_hosts. */
export class HostKeyRevokedError extends Error {
  override readonly name = 'HostKeyRevokedError';
  constructor(
    readonly revoked: RecordedHostKey,
    readonly received: HostKeyInfo,
  ) {
    super(
      `The host key of ${received.host} (${received.address}:${received.port}), ${received.fingerprint} ` +
        `(${received.keyType}), is marked @revoked in ${revoked.source}. Refusing to connect; ` +
        `the server needs a new host key.`,
    );
  }
}

/** known_hosts trusts the host only through a @cert-authority line: nightshift cannot check host certificates. */
export class HostCertificateUnsupportedError extends Error {
  override readonly name = 'HostCertificateUnsupportedError';
  constructor(
    readonly received: HostKeyInfo,
    /** file:line of the @cert-authority line */
    readonly authoritySource: string,
  ) {
    super(
      `The host key of ${received.host} (${received.address}:${received.port}) is to be trusted through its certificate: ` +
        `known_hosts has only a @cert-authority line for it (${authoritySource}), and nightshift cannot check host certificates ` +
        `(its SSH library does not negotiate them). Refusing to connect rather than asking to trust ${received.fingerprint} (${received.keyType}) ` +
        `on first sight. Record the host's own key beside the CA line (after checking it: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the machine), ` +
        `or declare it in host_keys for ${received.host} in the runbook.`,
    );
  }
}

/**
 * A host with `host_keys` in the runbook sent a key not declared for the run's phase (in
 * the fallback: not declared at all). known_hosts plays no part for such a host.
 */
export class HostKeyNotDeclaredError extends Error {
  override readonly name = 'HostKeyNotDeclaredError';
  constructor(
    readonly received: HostKeyInfo,
    /** The run's phase; null in the fallback, where every declared key is accepted. */
    readonly phase: string | null,
    /** Fingerprints declared for that phase. */
    readonly acceptedNow: string[],
    /** When the key sent is declared for other phases, when: e.g. "from phase bootloader on". */
    readonly declaredFor: string | undefined,
    /** Some keys accepted now were declared by fingerprint only, so their type could not be asked for. */
    readonly fingerprintOnly: boolean,
  ) {
    const where = `${received.host} (${received.address}:${received.port})`;
    const sent = `the server sent ${received.fingerprint} (${received.keyType})`;
    const accepted = acceptedNow.length > 0 ? acceptedNow.join(', ') : 'none';
    const sentences =
      phase === null
        ? [`The host key of ${where} is not one the runbook declares for it: ${sent}; in the fallback any declared key is accepted: ${accepted}.`]
        : [
            `The host key of ${where} is not one the runbook declares for phase ${phase}: ${sent}; declared for phase ${phase}: ${accepted}.`,
            declaredFor === undefined ? 'This key is declared for no phase.' : `This key is declared ${declaredFor}; the run is in phase ${phase}.`,
          ];
    sentences.push('Refusing to connect.');
    if (declaredFor !== undefined) {
      sentences.push(`Check which system the machine is running, or the phases given in host_keys for ${received.host} in the runbook.`);
    } else {
      sentences.push(
        `If the machine really has this key now, check its fingerprint on the machine (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) ` +
          `and add it to host_keys for ${received.host} in the runbook.`,
      );
      if (fingerprintOnly) {
        sentences.push(
          'Some of the keys accepted now are declared by fingerprint only, so the server could not be asked for their type: ' +
            'if the machine has several host keys, give the key itself in host_keys.',
        );
      }
    }
    super(sentences.join(' '));
  }
}

/** An unknown host key the human declined. */
export class UnknownHostKeyRejectedError extends Error {
  override readonly name = 'UnknownHostKeyRejectedError';
  constructor(readonly received: HostKeyInfo) {
    super(
      `The host key of ${received.host} (${received.address}:${received.port}), ${received.fingerprint} ` +
        `(${received.keyType}), was not accepted, so nightshift did not connect; ` +
        `check the fingerprint on the machine (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and try again.`,
    );
  }
}

/** The server refused every key nightshift offered, or there was none to offer. */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
  constructor(
    message: string,
    /** What was offered, e.g. ["the agent", "/root/.ssh/id_ed25519"] */
    readonly tried: string[],
  ) {
    super(message);
  }
}

/** A login that needs a user certificate (CertificateFile), which nightshift cannot present. */
export class CertificateUnsupportedError extends Error {
  override readonly name = 'CertificateUnsupportedError';
}

/** TCP, handshake or timeout trouble before login completed. */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  constructor(
    message: string,
    /** ssh2's or the socket's error, when there was one. */
    override readonly cause?: Error,
  ) {
    super(message);
  }
}

/**
 * Refusals that logging in again cannot cure: a wrong, revoked or undeclared host key, a host
 * known only by a CA, no algorithm in common, a refused login, a broken ssh config.
 */
const FINAL_LOGIN_ERRORS = new Set([
  'HostKeyMismatchError',
  'HostKeyRevokedError',
  'HostCertificateUnsupportedError',
  'NoCommonAlgorithmError',
  'UnsupportedAlgorithmsError',
  'CertificateUnsupportedError',
  'HostKeyNotDeclaredError',
  'UnknownHostKeyRejectedError',
  'AuthenticationError',
  'SshConfigError',
]);

export function isFinalLoginError(error: unknown): boolean {
  return error instanceof Error && FINAL_LOGIN_ERRORS.has(error.name);
}

/** An established connection dropped while a command was running on it. */
export class ConnectionLostError extends Error {
  override readonly name = 'ConnectionLostError';
}

export function abortError(): Error {
  const error = new Error('The command was cancelled.');
  error.name = 'AbortError';
  return error;
}

/** The work's outcome, or an AbortError as soon as the signal fires (the work then winds down on its own). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, aborted: () => Error = abortError): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      // The work may still fail later; nobody waits for it any more.
      work.catch(() => {});
      return reject(aborted());
    }
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** What to type to forget a recorded key; names the file unless it is the default one. */
export function removeKeyCommand(address: string, port: number, file: string, defaultFile: string, alias?: string): string {
  const name = shellQuote(alias ?? knownHostsName(address, port));
  return file === defaultFile ? `ssh-keygen -R ${name}` : `ssh-keygen -R ${name} -f ${shellQuote(file)}`;
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** ssh2 throws this at once when asked for a channel after the socket closed, before the connection heard of it. */
export function isNotConnected(error: unknown): boolean {
  return error instanceof Error && error.message === 'Not connected';
}
