// The machine's guards. Whether a person's action is taken is one guard, `allows`, which
// asks the rules (rules.ts), the same function the refusal asks for its reason; the others
// choose between ways an action or an effect goes on.
import type { RunStep } from '../runbook/types.js';
import { handsOf, type EngineContext } from './context.js';
import type { EngineEvent, HumanEvent } from './events.js';
import { pendingRoles, refusalOf, type Position, type RuleBook } from './rules.js';
import { nextFallbackScope } from './fallback-scope.js';
import { hasEnded, leavesAttemptRunning, type AttemptState } from './unsettled-attempt.js';

interface GuardArgs {
  context: EngineContext;
  event: EngineEvent;
}

export function isHumanEvent(event: EngineEvent): event is HumanEvent {
  return event.type !== 'TIMEOUT' && event.type !== 'HANDS';
}

export function engineGuards(book: RuleBook) {
  return {
    /** A person's action the rules allow where the run rests (`at`); null for an action on the whole run. */
    allows: ({ context, event }: GuardArgs, params: { at: Position }) => isHumanEvent(event) && refusalOf({ book, context, at: params.at }, event) === null,
    /** A confirmation (already allowed) that is the last one a checkpoint waits for. */
    completesCheckpoint: ({ context, event }: GuardArgs, params: { stepId: string }) =>
      event.type === 'CONFIRM' && pendingRoles(book, context, params.stepId).every((role) => role === event.role),
    exitedZero: (_: GuardArgs, params: { exitCode: number | null }) => params.exitCode === 0,
    /** The step's time limit, re-armed by the runner, for the attempt now running. */
    isAttempt: ({ context, event }: GuardArgs, params: { stepId: string }) =>
      event.type === 'TIMEOUT' && event.stepId === params.stepId && context.steps[params.stepId]?.attempts === event.attempt,
    /** FALLBACK (already allowed) starts the fallback of `scope` (a phase, or null for the runbook's). */
    fallsBackTo: ({ context }: GuardArgs, params: { scope: string | null }) => nextFallbackScope(book.fallbacks, context) === params.scope,
    handsAvailable: ({ context }: GuardArgs) => handsOf(context).available,
    /** The step's last attempt may still run on its host (a retry looks there first). */
    attemptMayRun: ({ context }: GuardArgs, params: { stepId: string }) => context.steps[params.stepId]?.mayStillRun !== undefined,
    attemptEnded: (_: GuardArgs, params: { state: AttemptState }) => hasEnded(params.state),
    /** A failure that comes back to the upgrader whatever on_fail says: its attempt may still run, or they asked for it. */
    failureAsksUpgrader: ({ context }: GuardArgs, params: { stepId: string; error?: unknown }) =>
      context.steps[params.stepId]?.followsDecision === true || leavesAttemptRunning(params.error),
  };
}

/** The step an attempt is looked at for, with the number of the attempt that may still run. */
export function attemptOf(context: EngineContext, step: RunStep): { step: RunStep; attempt: number } {
  const record = context.steps[step.id]!;
  return { step, attempt: record.mayStillRun ?? record.attempts };
}
