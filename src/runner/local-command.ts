// A local step's command: /bin/sh in the runbook's folder, in a process group of its own
// so that cancelling reaches what it started.
import { spawn } from 'node:child_process';
import type { CommandResult } from '../engine/machine.js';
import type { StepOutput } from '../output/step-output.js';
import { abortError } from './abortable.js';

export function runLocalCommand(
  command: string,
  options: {
    cwd: string;
    output: Pick<StepOutput, 'write'>;
    signal: AbortSignal;
    killGraceMs: number;
    /**
     * The command holds a secret's value: it goes to the shell in its environment, which
     * only its user can read, rather than on its command line, which ps shows to everyone.
     */
    holdsSecret?: boolean;
  },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const [args, env] = options.holdsSecret
      ? [['-c', 'c=$NIGHTSHIFT_COMMAND; unset NIGHTSHIFT_COMMAND; eval "$c"'], { ...process.env, NIGHTSHIFT_COMMAND: command }]
      : [['-c', command], process.env];
    const child = spawn('/bin/sh', args, { cwd: options.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => options.output.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => options.output.write(chunk, true));
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), options.killGraceMs);
      killTimer.unref();
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      options.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (options.signal.aborted) reject(abortError());
      else resolve(code === null ? { exitCode: null, signal: signal ?? 'unknown' } : { exitCode: code });
    });
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
