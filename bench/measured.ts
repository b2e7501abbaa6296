// A program run as the user starts it (no terminal), timed from its start to its exit, with
// its resident memory peak sampled on the way.
import { spawn } from 'node:child_process';
import { memoryOf } from './pty.js';

export interface Finished {
  seconds: number;
  code: number;
  /** The last of what it printed, for an error. */
  tail: string;
  peakMiB: number;
}

/**
 * Runs `command` (no terminal: stdin a pipe nobody writes to), dying with the bench, and
 * samples its resident memory peak while it runs; `timeoutMs` kills it.
 */
export function runMeasured(command: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', ...command], {
      cwd: options.cwd,
      env: { ...process.env, SSH_AUTH_SOCK: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let peakMiB = 0;
    // setpriv execs the command: the child's pid is the program's own.
    const sampler = setInterval(() => {
      const memory = child.pid !== undefined ? memoryOf(child.pid) : null;
      if (memory) peakMiB = Math.max(peakMiB, memory.peakMiB);
    }, 100);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command.join(' ')} did not end within ${options.timeoutMs / 1000} s; it printed last:\n${tail}`));
    }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(timer);
      resolve({ seconds: (performance.now() - startedAt) / 1000, code: code ?? 128 + (signal ? 9 : 0), tail, peakMiB });
    });
  });
}
