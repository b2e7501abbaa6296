// A detached attempt that failed without its exit status (the link could not be restored,
// a time limit or a stop while the link was down) may still run on its host. Its step
// keeps the attempt's number; a retry first learns whether it has ended, and until then
// the upgrader may follow it again (reattach) or stop it. Pure: the effects that look on
// the host come in as actors.
import type { RunStep, Step } from '../runbook/types.js';

/** What the run folder of an attempt says on its host. */
export type AttemptState =
  | { state: 'running'; pid: number }
  /** exitCode null: it ended without recording a status (killed with its wrapper, or the host restarted). */
  | { state: 'ended'; exitCode: number | null }
  /** There is no run folder: the command never reached the host. */
  | { state: 'never-started' }
  /** The folder says neither (no pid yet, or an unreadable one). */
  | { state: 'unknown'; why: string };

/**
 * Thrown by an effect when its attempt may outlive the failure on its host (a detached
 * command whose link was lost). Told apart by name, which survives bundling.
 */
export class AttemptMayStillRunError extends Error {
  override readonly name = 'AttemptMayStillRunError';
}

export function leavesAttemptRunning(error: unknown): boolean {
  return error instanceof Error && error.name === 'AttemptMayStillRunError';
}

/** Steps whose attempts run detached on a host, so that they can outlive a failure. */
export function runsDetached(step: Step): step is RunStep {
  return step.kind === 'run' && step.detached;
}

/** A new attempt may start once the last one is known to have ended (or never started). */
export function hasEnded(state: AttemptState): boolean {
  return state.state === 'ended' || state.state === 'never-started';
}

export function describeAttemptState(state: AttemptState): string {
  switch (state.state) {
    case 'running':
      return `still running (pid ${state.pid})`;
    case 'ended':
      return state.exitCode === null
        ? 'ended without an exit status (killed with its wrapper, or the host restarted)'
        : `ended with exit status ${state.exitCode}`;
    case 'never-started':
      return 'never started (it has no run folder on the host)';
    case 'unknown':
      return `in an unknown state (${state.why})`;
  }
}

/** Why a retry does not start a new attempt now, from what the host said (or why it could not be asked). */
export function retryRefusal(step: RunStep, attempt: number, found: AttemptState | { unreachable: string }): string {
  if ('unreachable' in found) {
    return (
      `attempt ${attempt} may still be running on ${step.host}, which cannot be reached to tell (${found.unreachable.replace(/\.$/, '')}); ` +
      'a new attempt waits until it is known to have ended: reattach or stop it once the host answers, or skip or fall back'
    );
  }
  if (found.state === 'running') {
    return `attempt ${attempt} is still running on ${step.host} (pid ${found.pid}): reattach to follow it, or stop it first`;
  }
  return `attempt ${attempt} on ${step.host} is ${describeAttemptState(found)}: look on the host, then stop it, or skip or fall back`;
}

/** Why a stop did not end the attempt. */
export function stopRefusal(step: RunStep, attempt: number, found: AttemptState | { unreachable: string }): string {
  if ('unreachable' in found) {
    return `attempt ${attempt} could not be stopped: ${step.host} cannot be reached (${found.unreachable.replace(/\.$/, '')}); it may still be running there`;
  }
  return `attempt ${attempt} on ${step.host} is ${describeAttemptState(found)} after TERM was sent to its process group: stop it again, or look on the host`;
}
