// `revert_after` around a run step, like netplan try: arm a revert on the host, make the
// change, then disarm it from a *new* SSH connection. Only a host that still takes new
// logins after the change keeps it; otherwise the timer armed before it undoes it, and
// nightshift waits a little past the deadline to see that it did.
import type { CommandResult } from '../engine/machine.js';
import type { StepOutput } from '../output/step-output.js';
import { stripControls } from '../output/neutralize.js';
import { describeWriteFailure } from '../remote/host-shell.js';
import {
  ARM_FAILURES,
  armScript,
  describeTimer,
  disarmScript,
  NO_REVERT_FOLDER,
  parseRevertStatus,
  revertRunId,
  revertStatusScript,
  revertUnitName,
  SYSTEMD_TIMER_FAILED,
  type RevertStatus,
} from '../remote/revert-scripts.js';
import { formatDuration } from '../runbook/duration.js';
import type { RevertPlan, RunStep, Site } from '../runbook/types.js';
import { bothSitesToTheSecond } from '../text/clock.js';
import { isAbort, sleep } from './abortable.js';
import type { RemoteHosts } from './remote-hosts.js';

/** How long past the deadline nightshift waits for the host to answer again and show the revert ran. */
export const REVERT_GRACE_MS = 90_000;
/** Pause between attempts at a new connection. */
const RETRY_PAUSE_MS = 2000;

interface RevertEventBase {
  stepId: string;
  attempt: number;
  host: string;
}

/** What the journal records of a revert (and the report shows in the step). */
export type RevertEvent =
  | (RevertEventBase & { type: 'revert.armed'; how: string; deadline: number; afterMs: number })
  | (RevertEventBase & { type: 'revert.disarmed' })
  /** The change failed or was stopped: the timer stays and will undo it. */
  | (RevertEventBase & { type: 'revert.kept'; deadline: number; why: string })
  /** No new connection reached the host before the deadline. */
  | (RevertEventBase & { type: 'revert.unconfirmed'; deadline: number; error: string })
  | (RevertEventBase & { type: 'revert.fired'; firedAt?: number; exitCode: number | null })
  /** The host did not answer again within the grace after the deadline. */
  | (RevertEventBase & { type: 'revert.unseen'; deadline: number });

export interface RevertContext {
  hosts: RemoteHosts;
  output: StepOutput;
  sessionId: string;
  attempt: number;
  signal: AbortSignal;
  sites: { upgrader: Site; site: Site };
  onEvent(event: RevertEvent): void;
  /** For tests: how long past the deadline to wait (default REVERT_GRACE_MS). */
  graceMs?: number;
}

export async function runWithRevert(
  step: RunStep & { revert: RevertPlan },
  context: RevertContext,
  change: () => Promise<CommandResult>,
): Promise<CommandResult> {
  const { hosts, output, signal, sites } = context;
  const { host } = step;
  const base = { stepId: step.id, attempt: context.attempt, host };
  const runId = revertRunId(context.sessionId, step.id, context.attempt);
  const seconds = Math.ceil(step.revert.afterMs / 1000);
  const runDir = hosts.runDirOf?.(host);
  const clocks = (at: number) => bothSitesToTheSecond(sites, at);

  // Counted from before the arm was sent: never later than the host's own deadline.
  const sentAt = Date.now();
  const arm = armScript({
    runId,
    unit: revertUnitName(context.sessionId, step.id, context.attempt),
    seconds,
    revert: step.revert.command,
    ...(runDir !== undefined ? { runDir } : {}),
  });
  const armed = await statusOf((handlers) => hosts.exec(host, arm, { ...handlers, signal }), armFailure).catch((error: unknown) => {
    if (isAbort(error)) throw error;
    throw new Error(`Could not arm the revert on ${host}, so the change was not made: ${(error as Error).message}`);
  });
  if (armed.skipped) output.note(`nightshift: the revert waits in ${armed.dir ?? '?'} on ${host}, since ${armed.skipped.map((why) => why.trim()).join('; ')}`);
  const deadline = sentAt + Math.min(seconds, armed.secondsLeft ?? seconds) * 1000;
  output.revert = { host, deadline, state: 'armed' };
  context.onEvent({ ...base, type: 'revert.armed', how: armed.how, deadline, afterMs: step.revert.afterMs });
  output.note(
    `nightshift: revert armed on ${host} with ${describeTimer(armed.how)}: unless confirmed from a new connection by ${clocks(deadline)} ` +
      `(in ${formatDuration(deadline - Date.now())}), it runs: ${step.revert.command}`,
  );

  const keep = (why: string) => {
    context.onEvent({ ...base, type: 'revert.kept', deadline, why });
    output.note(
      `nightshift: ${why}; the revert stays armed and undoes the change on ${host} at ${clocks(deadline)} ` +
        `(in ${formatDuration(Math.max(0, deadline - Date.now()))})`,
    );
  };
  let result: CommandResult;
  try {
    result = await change();
  } catch (error) {
    keep(isAbort(error) ? 'the step was stopped' : 'the command could not be followed to its end');
    throw error;
  }
  if (result.exitCode !== 0) {
    keep(`the command failed (${result.exitCode === null ? `signal ${result.signal ?? '?'}` : `exit ${result.exitCode}`})`);
    return result;
  }

  output.revert = { host, deadline, state: 'confirming' };
  output.note(`nightshift: the command succeeded; confirming from a new connection to ${host} before ${clocks(deadline)}`);
  let lastError = 'no attempt was made';
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    try {
      const status = await onNewConnection(context, host, disarmScript(runId, runDir), deadline);
      if (status.state === 'disarmed') {
        output.revert = { host, deadline, state: 'disarmed' };
        context.onEvent({ ...base, type: 'revert.disarmed' });
        const lingering = status.gone === false ? ` (its ${describeTimer(status.how)} did not go away, but it can no longer run the revert)` : '';
        output.note(`nightshift: ${host} answered a new connection: the revert is disarmed and the change stays${lingering}`);
        return result;
      }
      if (status.state === 'missing') throw new Error(`the revert's folder on ${host} is gone: whether it is armed cannot be told; look on the machine`);
      break; // fired: the host's deadline came first
    } catch (error) {
      if (signal.aborted) {
        keep('the step was stopped while confirming');
        throw error;
      }
      if ((error as Error).message.startsWith("the revert's folder")) throw error;
      lastError = (error as Error).message;
      output.note(`nightshift: new connection ${attempt} to ${host} failed: ${lastError}`);
      const pause = Math.min(RETRY_PAUSE_MS, deadline - Date.now());
      if (pause > 0) await sleep(pause, signal);
    }
  }

  return awaitRevert();

  async function awaitRevert(): Promise<CommandResult> {
    const graceMs = context.graceMs ?? REVERT_GRACE_MS;
    output.revert = { host, deadline, state: 'reverting' };
    context.onEvent({ ...base, type: 'revert.unconfirmed', deadline, error: lastError });
    output.note(
      `nightshift: the change on ${host} is being reverted by the timer armed before it: no new connection reached ${host} in time ` +
        `(last: ${lastError}); waiting up to ${formatDuration(graceMs)} past the deadline for ${host} to answer again`,
    );
    const until = deadline + graceMs;
    while (Date.now() < until) {
      try {
        const status = await onNewConnection(context, host, revertStatusScript(runId, true, runDir), until);
        if (status.state === 'disarmed') {
          // A disarm that reached the host though its answer did not come back.
          output.revert = { host, deadline, state: 'disarmed' };
          context.onEvent({ ...base, type: 'revert.disarmed' });
          output.note(`nightshift: ${host} answers: an earlier disarm reached it in time after all; the change stays`);
          return result;
        }
        if (status.state === 'fired' && status.exitCode !== undefined) {
          output.revert = { host, deadline, state: 'reverted' };
          context.onEvent({
            ...base,
            type: 'revert.fired',
            ...(status.firedAt !== undefined ? { firedAt: status.firedAt * 1000 } : {}),
            exitCode: status.exitCode,
          });
          for (const line of (status.output ?? '').trimEnd().split('\n').filter(Boolean)) output.note(`revert| ${line}`);
          if (status.outputCut !== undefined) {
            output.note(
              `nightshift: ${host} could not write all the revert printed (${describeWriteFailure(status.outputCut)}): the rest of its output is lost`,
            );
          }
          const when = status.firedAt !== undefined ? ` at ${clocks(status.firedAt * 1000)}` : '';
          throw new RevertedError(
            `the change on ${host} was reverted by the timer armed before it: no new connection reached ${host} before the deadline ` +
              `(last: ${lastError}). The revert ran${when} and exited ${status.exitCode}; ${host} answers again`,
          );
        }
      } catch (error) {
        if (error instanceof RevertedError || signal.aborted) throw error;
      }
      await sleep(Math.min(RETRY_PAUSE_MS, Math.max(0, until - Date.now())), signal);
    }
    context.onEvent({ ...base, type: 'revert.unseen', deadline });
    throw new Error(
      `the change on ${host} is being reverted by the timer armed before it: no new connection reached ${host} before the deadline ` +
        `(last: ${lastError}), and ${host} did not answer within ${formatDuration(graceMs)} after it either; ` +
        `the revert was due at ${clocks(deadline)}: look on the machine`,
    );
  }
}

class RevertedError extends Error {
  override readonly name = 'RevertedError';
}

/** Runs a script over a new connection, login and all bounded by `until`. */
async function onNewConnection(context: RevertContext, host: string, script: string, until: number): Promise<RevertStatus> {
  const left = until - Date.now();
  if (left <= 0) throw new Error('no time left');
  const bounded = AbortSignal.any([context.signal, AbortSignal.timeout(left)]);
  try {
    return await statusOf((handlers) => context.hosts.execOnNewConnection(host, script, { ...handlers, signal: bounded, readyTimeoutMs: left }));
  } catch (error) {
    if (isAbort(error) && !context.signal.aborted) throw new Error('no answer before the deadline');
    throw error;
  }
}

export type Handlers = { onStdout(chunk: Buffer): void; onStderr(chunk: Buffer): void };
export type ScriptEnd = { exitCode: number | null; signal?: string; stdout: string; stderr: string };

/** Runs a revert script and reads its report; a failing script says why (`failure`: what its exit statuses mean). */
export async function statusOf(
  run: (handlers: Handlers) => Promise<{ exitCode: number | null; signal?: string }>,
  failure: (end: ScriptEnd) => string | undefined = () => undefined,
): Promise<RevertStatus> {
  let stdout = '';
  let stderr = '';
  const result = await run({
    onStdout: (chunk) => (stdout += chunk.toString('utf8')),
    onStderr: (chunk) => (stderr += chunk.toString('utf8')),
  });
  if (result.exitCode !== 0) {
    const end = { ...result, stdout, stderr };
    throw new Error(failure(end) ?? (lastLine(stderr) || `the script ended with ${result.exitCode ?? result.signal}`));
  }
  return parseRevertStatus(stdout);
}

/** Why the arm script failed, from its exit status and what it printed. */
export function armFailure(end: ScriptEnd): string | undefined {
  if (end.exitCode === NO_REVERT_FOLDER) {
    const skipped = end.stdout
      .split('\n')
      .filter((line) => line.startsWith('skipped='))
      .map((line) => line.slice('skipped='.length));
    const said = stripControls([...skipped, lastLine(end.stderr)].filter(Boolean).join('; '));
    return `no folder for it could be written there (${said || 'no reason given'}); free some space, or give the host a run_dir in the runbook`;
  }
  if (end.exitCode === SYSTEMD_TIMER_FAILED) return `systemd-run refused the timer (${lastLine(end.stderr) || 'no reason given'})`;
  return ARM_FAILURES[end.exitCode ?? -1];
}

function lastLine(text: string): string {
  return stripControls(text.trim().split('\n').at(-1) ?? '').trim();
}
