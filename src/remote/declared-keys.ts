// Host keys declared in the runbook (host_keys), each accepted in a window of phases: the
// old machine's key until the restore, the restored system's key after it. For such a host
// these are the only keys accepted; known_hosts is neither read nor written.
import type { HostKeyExpectation } from '../runbook/types.js';
import { HostKeyNotDeclaredError } from './errors.js';
import { describeHostKey, hostKeyAlgorithms, type HostKeyCheckTarget, type HostKeyPolicy } from './host-key-check.js';

/** Where the run stands: a phase of `order`, or null in the fallback (every declared key counts). */
export interface RunPhase {
  phase: string | null;
  order: string[];
}

export function windowContains(expectation: HostKeyExpectation, { phase, order }: RunPhase): boolean {
  if (phase === null) return true;
  const at = order.indexOf(phase);
  const from = expectation.from === undefined ? 0 : order.indexOf(expectation.from);
  const until = expectation.until === undefined ? order.length - 1 : order.indexOf(expectation.until);
  if (at === -1) return expectation.from === undefined && expectation.until === undefined;
  return from !== -1 && until !== -1 && from <= at && at <= until;
}

/** "from phase bootloader on", "until phase restore", "from phase a until phase b", "in every phase". */
export function describeWindow(expectation: HostKeyExpectation): string {
  const { from, until } = expectation;
  if (from !== undefined && until !== undefined) return from === until ? `for phase ${from} only` : `from phase ${from} until phase ${until}`;
  if (from !== undefined) return `from phase ${from} on`;
  if (until !== undefined) return `until phase ${until}`;
  return 'in every phase';
}

export function acceptedNow(declared: HostKeyExpectation[], run: RunPhase): HostKeyExpectation[] {
  return declared.filter((expectation) => windowContains(expectation, run));
}

/**
 * The key types of the keys accepted now go first. A key declared by fingerprint only has
 * no known type: then ssh2's default order stays, since preferring the other declared
 * types could make a server with several keys send the wrong one.
 */
export function declaredKeyAlgorithms(accepted: HostKeyExpectation[]): ReturnType<typeof hostKeyAlgorithms> {
  const types: string[] = [];
  for (const expectation of accepted) {
    const type = expectation.key?.split(/\s+/)[0];
    if (type === undefined) return hostKeyAlgorithms([]);
    if (!types.includes(type)) types.push(type);
  }
  return hostKeyAlgorithms(types);
}

export function declaredKeysPolicy(target: HostKeyCheckTarget, declared: HostKeyExpectation[], run: RunPhase): HostKeyPolicy {
  const accepted = acceptedNow(declared, run);
  return {
    algorithms: declaredKeyAlgorithms(accepted),
    check(key) {
      const received = describeHostKey(target, key);
      if (accepted.some((expectation) => expectation.fingerprint === received.fingerprint)) return { kind: 'known' };
      const elsewhere = declared.filter((expectation) => expectation.fingerprint === received.fingerprint);
      const error = new HostKeyNotDeclaredError(
        received,
        run.phase,
        [...new Set(accepted.map((expectation) => expectation.fingerprint))],
        elsewhere.length > 0 ? elsewhere.map(describeWindow).join(' and ') : undefined,
        accepted.some((expectation) => expectation.key === undefined),
      );
      return { kind: 'refused', error };
    },
  };
}
