// One login to a test sshd with a ResolvedHost written by the test (as `ssh -G` would have
// filled it), without a pool: for the ssh_config options the connection must honour.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Connection } from '../../src/remote/connection.js';
import { execOnConnection } from '../../src/remote/exec.js';
import type { ResolvedHost } from '../../src/remote/types.js';
import type { Sshd } from './sshd.js';

export { connectTo } from './ssh-pool.js';

/** The sshd as a ResolvedHost named dragon, with the harness's client key, and `overrides`. */
export function hostFor(sshd: Sshd, overrides: Partial<ResolvedHost> = {}): ResolvedHost {
  return {
    name: 'dragon',
    address: sshd.address,
    port: sshd.port,
    user: sshd.user,
    identityFiles: [sshd.clientKey.privateKeyFile],
    resolvedBy: 'ssh -G',
    ...overrides,
  };
}

/** HOME/.ssh/known_hosts with the sshd's key (or the given lines). */
export function pinHostKey(sshd: Sshd, home: string, lines: string[] = [sshd.knownHostsLine()]): string {
  const file = path.join(home, '.ssh', 'known_hosts');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, lines.map((line) => `${line}\n`).join(''));
  return file;
}

/** Runs a command on the connection and returns its stdout (stderr appended after a marker when there is any). */
export async function runOn(connection: Connection, command: string): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const result = await execOnConnection(connection, command, { onStdout: (chunk) => out.push(chunk), onStderr: (chunk) => err.push(chunk) });
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: result.exitCode };
}

/** The rejection of `promise` (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if ('value' in outcome) {
    if (outcome.value && typeof (outcome.value as Connection).close === 'function') await (outcome.value as Connection).close();
    throw new Error('Expected a refusal, but it connected.');
  }
  return outcome.error as Error;
}
