// The host key decision, kept apart from ssh2 so it can be read (and tested) on its own.
import { HostCertificateUnsupportedError, HostKeyMismatchError, HostKeyRevokedError } from './errors.js';
import { fingerprint, keyTypeOf, type HostKeyRecords, type KnownKey } from './known-hosts.js';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { ssh2Algorithms } from './ssh2.js';
import type { HostKeyInfo, RecordedHostKey } from './types.js';

export type HostKeyVerdict = { kind: 'known' } | { kind: 'unknown' } | { kind: 'refused'; error: Error };

/** How one machine's key is judged: against known_hosts, or against the keys the runbook declares. */
export interface HostKeyPolicy {
  /** Signature algorithms to offer the server, the types of the keys expected now first. */
  algorithms: ServerHostKeyAlgorithm[];
  /** 'unknown' means: ask the human, and record the key in known_hosts when accepted. */
  check(key: Buffer): HostKeyVerdict;
}

export interface HostKeyCheckTarget {
  host: string;
  address: string;
  port: number;
  /** Command that removes the recorded key, shown on a mismatch. */
  removeCommand: (source: string) => string;
}

export function describeHostKey(target: HostKeyCheckTarget, key: Buffer): HostKeyInfo {
  return { host: target.host, address: target.address, port: target.port, keyType: keyTypeOf(key), fingerprint: fingerprint(key) };
}

/**
 * Known when a recorded key of the same type is this key; refused when it is revoked, or
 * when keys are recorded for the host but none is this one (even of another type: the
 * server was asked for the recorded types first, so offering another one is a change).
 * A host known only through a @cert-authority line is refused: ssh2 does not negotiate host
 * certificates.
 */
export function checkHostKey(records: HostKeyRecords, target: HostKeyCheckTarget, key: Buffer): HostKeyVerdict {
  const received = describeHostKey(target, key);
  const revoked = records.revoked.find((known) => known.key.equals(key));
  if (revoked) return { kind: 'refused', error: new HostKeyRevokedError(recorded(target, revoked), received) };
  if (records.keys.some((known) => known.key.equals(key))) return { kind: 'known' };
  const expected = records.keys.find((known) => known.keyType === received.keyType) ?? records.keys[0];
  if (!expected) {
    // The host is meant to be trusted through a CA; nightshift cannot check certificates and
    // must not turn that into "trust on first use".
    const authority = records.certAuthorities[0];
    if (authority) return { kind: 'refused', error: new HostCertificateUnsupportedError(received, authority.source) };
    return { kind: 'unknown' };
  }
  return {
    kind: 'refused',
    error: new HostKeyMismatchError(recorded(target, expected), received, target.removeCommand(expected.source)),
  };
}

export function knownHostsPolicy(records: HostKeyRecords, target: HostKeyCheckTarget): HostKeyPolicy {
  return {
    algorithms: hostKeyAlgorithms([...new Set(records.keys.map((known) => known.keyType))]),
    check: (key) => checkHostKey(records, target, key),
  };
}

function recorded(target: HostKeyCheckTarget, known: KnownKey): RecordedHostKey {
  return {
    host: target.host,
    address: target.address,
    port: target.port,
    keyType: known.keyType,
    fingerprint: known.fingerprint,
    source: known.source,
  };
}

/** ssh2's default host key algorithm order (with this Node: Ed25519 first), taken from ssh2 itself. */
const defaultHostKeyAlgorithms = () => ssh2Algorithms().defaults.hostKey as ServerHostKeyAlgorithm[];

/** Signature algorithms that verify a key of a given type. */
const ALGORITHMS_FOR_KEY_TYPE: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};

/** Recorded key types first, as OpenSSH orders them, then ssh2's defaults. */
export function hostKeyAlgorithms(recordedTypes: string[]): ServerHostKeyAlgorithm[] {
  const first: ServerHostKeyAlgorithm[] = [];
  for (const type of recordedTypes) {
    for (const algorithm of ALGORITHMS_FOR_KEY_TYPE[type] ?? [type]) {
      if (isSupported(algorithm) && !first.includes(algorithm)) first.push(algorithm);
    }
  }
  return [...first, ...defaultHostKeyAlgorithms().filter((algorithm) => !first.includes(algorithm))];
}

/** Key types ssh2 cannot verify (certificates, security keys) are left to the defaults. */
function isSupported(algorithm: string): algorithm is ServerHostKeyAlgorithm {
  return (defaultHostKeyAlgorithms() as string[]).includes(algorithm) || algorithm === 'ssh-dss';
}
