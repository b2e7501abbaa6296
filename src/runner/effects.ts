// The engine's effects, as XState actors: remote commands over the host pool, local
// commands in a child process, and bounded waits. Output goes to the step's StepOutput,
// never through the machine.
import { spawn } from 'node:child_process';
import { fromPromise } from 'xstate';
import type { CommandResult } from '../engine/machine.js';
import type { StepOutput } from '../output/step-output.js';
import { formatDuration } from '../runbook/duration.js';
import type { LocalStep, RunStep, Step, WaitStep } from '../runbook/types.js';
import type { RemoteHosts } from './remote-hosts.js';
import type { RunOutputs } from './run-outputs.js';

/** Errors that waiting longer cannot cure: a wrong host key or refused login. */
const FINAL_ERRORS = new Set([
  'HostKeyMismatchError',
  'HostKeyRevokedError',
  'UnknownHostKeyRejectedError',
  'AuthenticationError',
  'SshConfigError',
]);

export interface EffectsOptions {
  hosts: RemoteHosts;
  /** Names this session's run folders on the hosts. */
  sessionId: string;
  outputs: RunOutputs;
  /** Folder local steps run in (the runbook's folder). */
  localCwd: string;
  /** Grace between TERM and KILL for a cancelled local command. */
  killGraceMs?: number;
}

export function createEffects(options: EffectsOptions) {
  const { hosts, outputs } = options;

  const withOutput = async <T>(step: Step, work: (output: StepOutput) => Promise<T>): Promise<T> => {
    const output = outputs.start(step);
    try {
      return await work(output);
    } catch (error) {
      if (!isAbort(error)) output.note(`nightshift: ${(error as Error).message}`);
      throw error;
    } finally {
      await output.close();
    }
  };

  const runRemote = fromPromise<CommandResult, { step: Step }>(({ input, signal }) => {
    const step = input.step as RunStep;
    return withOutput(step, (output) => {
      const handlers = { onStdout: (chunk: Buffer) => output.write(chunk), onStderr: (chunk: Buffer) => output.write(chunk, true), signal };
      if (!step.detached) return hosts.exec(step.host, step.command, handlers);
      const runId = `${options.sessionId}/${step.id}.${outputs.attemptOf(step.id)}`;
      return hosts.runDetached(step.host, step.command, { ...handlers, runId, onNotice: (text) => output.note(text) });
    });
  });

  const runLocal = fromPromise<CommandResult, { step: Step }>(({ input, signal }) => {
    const step = input.step as LocalStep;
    return withOutput(step, (output) =>
      runLocalCommand(step.command, { cwd: options.localCwd, output, signal, killGraceMs: options.killGraceMs ?? 5000 }),
    );
  });

  const waitUntil = fromPromise<void, { step: WaitStep }>(({ input, signal }) => {
    const { step } = input;
    return withOutput(step, async (output) => {
      for (let attempt = 1; ; attempt++) {
        signal.throwIfAborted();
        let reason: string;
        try {
          if (await conditionHolds(step, output, signal)) {
            output.note(`nightshift: ${step.host} is ready (attempt ${attempt})`);
            return;
          }
          reason = 'not yet';
        } catch (error) {
          if (isAbort(error) || FINAL_ERRORS.has((error as Error).name)) throw error;
          reason = (error as Error).message;
        }
        output.note(`nightshift: attempt ${attempt}: ${reason}; next try in ${formatDuration(step.everyMs)}`);
        await sleep(step.everyMs, signal);
      }
    });
  });

  const conditionHolds = async (step: WaitStep, output: StepOutput, signal: AbortSignal): Promise<boolean> => {
    switch (step.until.kind) {
      case 'ssh':
        await hosts.connect(step.host);
        return true;
      case 'port':
        return hosts.isPortOpen(step.host, step.until.port, Math.min(step.everyMs * 2, 10_000));
      case 'command': {
        const result = await hosts.exec(step.host, step.until.command, {
          onStdout: (chunk) => output.write(chunk),
          onStderr: (chunk) => output.write(chunk, true),
          signal,
        });
        return result.exitCode === 0;
      }
    }
  };

  return { runRemote, runLocal, waitUntil };
}

function runLocalCommand(
  command: string,
  options: { cwd: string; output: StepOutput; signal: AbortSignal; killGraceMs: number },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that cancelling reaches the command's children too.
    const child = spawn('/bin/sh', ['-c', command], { cwd: options.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): Error {
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
