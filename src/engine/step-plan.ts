// What a step's states are built from, and the pieces every one of them uses: the tag of a
// resting state, and the ways a failure goes.
import type { Step } from '../runbook/types.js';
import type { Place } from './rules.js';
import type { StateConfig } from './setup.js';
import { isFallbackTarget, type FallbackScopes } from './fallback-scope.js';

export const MACHINE_ID = 'nightshift';

/** The id of a step's own state, wherever its track is: `#id.child` reaches its states (step ids are unique in a runbook). */
export function stepStateId(stepId: string): string {
  return `step:${stepId}`;
}
/** Upper case: cannot clash with a step id. */
export const FINAL = 'DONE';

/** What every state of a step is built from. */
export interface StepPlan {
  step: Step;
  stepId: string;
  /** The state the run goes on to once the step is done (or skipped). */
  next: string;
  /** Where a failure goes by on_fail: the next step, the fallback track, or the step's decision. */
  failTarget: string;
  detached: boolean;
  /** The step's check is asked before it runs (`skip_done`, or every check when going again). */
  probe: boolean;
  /** The id of the step's own state (`stepStateId` unless the step has states in two places, as a fleet host's fallback). */
  stateId: string;
}

/** How a track's steps are built beyond the steps themselves. */
export interface TrackOptions {
  /** Every step with a check asks it first (going again). */
  probeChecks?: boolean;
  /** The runbook's fallbacks by scope: where a failure falls back to (none: the runbook's, as before scopes). */
  fallbacks?: FallbackScopes;
  /** A host of a `for_each` phase: where its steps' on_fail: fallback goes (its own fallback), or none (they ask). */
  hostFallback?: string | null;
  /** The id of a step's own state, when not `stepStateId` (a host's fallback steps also run in the fall-back-all state). */
  stateIdOf?: (stepId: string) => string;
}

export const at = (plan: StepPlan, place: Place) => ({ at: { stepId: plan.stepId, place } });
export const allows = (plan: StepPlan, place: Place) => ({ type: 'allows' as const, params: at(plan, place) });
/**
 * A resting state: tagged with its place. A person's action it does not take in `config.on`
 * (or whose guard says no) goes up to the machine, which refuses it where the run rests
 * (`refuseWhereResting`): one set of refusals for the machine instead of one per state,
 * which made most of a large runbook's machine.
 */
export function resting(place: Place, config: StateConfig): StateConfig {
  return { ...config, tags: [place] };
}

/** A failure's finish, then on_fail's way: go on (continue), or fall back. */
export function failActions<F>(plan: StepPlan, finish: F) {
  const { step, stepId } = plan;
  return [
    finish,
    ...('onFail' in step && step.onFail === 'continue' ? [{ type: 'decide' as const, params: { stepId, action: 'continue' as const } }] : []),
    ...(isFallbackTarget(plan.failTarget) ? [{ type: 'requestFallback' as const, params: { stepId } }] : []),
  ];
}

export type Errored = { event: { error: unknown } };

/** An effect's error: the same ways as `failing`, the error read from the error event. */
export function failingWithError(plan: StepPlan) {
  const { stepId } = plan;
  const finish = { type: 'finishStep' as const, params: ({ event }: Errored) => ({ stepId, outcome: 'error' as const, error: event.error }) };
  const otherwise = { target: plan.failTarget, actions: failActions(plan, finish) };
  if (plan.failTarget === 'failed') return [otherwise];
  const asks = { type: 'failureAsksUpgrader' as const, params: ({ event }: Errored) => ({ stepId, error: event.error }) };
  return [{ guard: asks, target: 'failed', actions: [finish] }, otherwise];
}
