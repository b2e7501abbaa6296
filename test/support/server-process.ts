// What the sshd and dropbear harnesses share: starting the server so that it dies with the
// tests and waiting until it listens, the passwd copy its mount namespace shows, running a
// script in that namespace, and finding and killing what is left in it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { waitFor } from './wait-for.js';

/** `text` as one word for sh. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Spawns `command`, killed with the test process however it ends (a run cut off, kill -9):
 * setpriv's parent-death signal lasts through the execs (unshare, sh) down to the server,
 * which keeps this pid. Its stdout and stderr go to `onOutput`.
 */
export function spawnDyingWithTests(command: string[], onOutput: (text: string) => void): ChildProcess {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (chunk: Buffer) => onOutput(chunk.toString('utf8'));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return child;
}

/**
 * Waits until `address:port` takes connections (10 s at most); fails, with the server's log,
 * when `child` exits first. `name` names the server in the messages, e.g. "sshd (config F)".
 */
export async function waitUntilListening(child: ChildProcess, server: { name: string; address: string; port: number; log: () => string }): Promise<void> {
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await waitFor(
    async () => {
      if (exited) throw new Error(`${server.name} exited at start-up:\n${server.log()}`);
      return answers(server.address, server.port);
    },
    { what: `${server.name} to listen on ${server.address}:${server.port}`, timeoutMs: 10_000, intervalMs: 50, detail: server.log },
  );
}

function answers(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Runs a script with `shell` (`shell -c script`) in the mount namespace of `pid` and returns its stdout; `name` names the server when it fails. */
export function runInMountNamespace(pid: number, shell: string[], script: string, name: string): string {
  const result = spawnSync('nsenter', ['-t', String(pid), '-m', ...shell, '-c', script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`In ${name}'s namespace, the script failed (${result.status ?? result.signal}): ${result.stderr}`);
  return result.stdout;
}

/** /etc/passwd with `user`'s shell and home replaced where given. */
export function passwdCopy(user: string, change: { shell?: string | undefined; home?: string | undefined }): string {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => {
      const fields = line.split(':');
      if (fields[0] !== user || fields.length < 7) return line;
      if (change.home !== undefined) fields[5] = change.home;
      if (change.shell !== undefined) fields[6] = change.shell;
      return fields.join(':');
    })
    .join('\n');
}

/** Every process in the mount namespace of `pid`. */
export function processesInMountNamespaceOf(pid: number): number[] {
  let namespace: string;
  try {
    namespace = readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/mnt`) === namespace) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
