// The states of one step, each built by a function named for it. Every state a run rests
// in carries its place as a tag and takes the transitions the rules allow (guard `allows`);
// what it does not take, the machine refuses there with the rules' reason.
import { and } from 'xstate';
import type { LocalStep, RunStep, Step } from '../runbook/types.js';
import { valuesFor, type EngineContext } from './context.js';
import type { CommandResult } from './actions.js';
import { attemptOf } from './guards.js';
import type { StateConfig } from './setup.js';
import { runsDetached, type AttemptState } from './unsettled-attempt.js';
import { allows, stepStateId, FINAL, failActions, failingWithError, MACHINE_ID, resting, type Errored, type StepPlan, type TrackOptions } from './step-plan.js';
import { deciding } from './deciding-state.js';
import { probing } from './probing-state.js';
import { preparing } from './edit-states.js';
import { fallbackOnFailure, isFallbackTarget } from './fallback-scope.js';
import { isHostFallbackTarget } from './fleet-ids.js';
import { captureMissing } from './capture-states.js';

/** `track`: the track state's name (main, fallback, or a phase's fallback: see fallback-scope.ts). */
export function trackStates(track: string, steps: Step[], options: TrackOptions = {}): StateConfig {
  const states: Record<string, StateConfig> = {};
  steps.forEach((step, index) => {
    const following = steps[index + 1];
    states[step.id] = stepState(step, `#${MACHINE_ID}.${track}.${following ? following.id : FINAL}`, track, options);
  });
  states[FINAL] = { type: 'final' };
  return { initial: steps[0]?.id ?? FINAL, states };
}

/**
 * A step's states. It enters through the ones it has, in this order: its `when:` decided,
 * held for hands, its check asked first, an edit's change worked out, the approval, then
 * what it does.
 */
export function stepState(step: Step, next: string, track: string, options: TrackOptions): StateConfig {
  const stepId = step.id;
  const meta = { stepId };
  const plan = planOf(step, next, track, options);
  const decided = (target: string): Record<string, StateConfig> =>
    step.when !== undefined && step.when.length > 0 ? { deciding: deciding(plan, target) } : {};
  const entering = (target: string) => (step.when !== undefined && step.when.length > 0 ? 'deciding' : target);
  if (step.kind === 'note') {
    const pass: StateConfig = { entry: [{ type: 'passNote', params: { stepId } }], always: { target: next } };
    const afterWhen = step.needsHands ? 'gate' : 'pass';
    if (!step.needsHands && afterWhen === entering(afterWhen)) return { ...pass, meta };
    return {
      id: plan.stateId,
      meta,
      initial: entering(afterWhen),
      states: { ...decided(afterWhen), ...(step.needsHands ? handsGate(plan, 'pass') : {}), pass },
    };
  }
  const check = checkOf(step);
  const needsApproval = step.kind !== 'checkpoint' && 'confirmText' in step && step.confirmText !== undefined;
  const start = needsApproval ? 'approval' : 'working';
  const afterProbe = step.kind === 'edit' ? 'preparing' : start;
  const afterGate = plan.probe && check ? 'probing' : afterProbe;
  const afterWhen = step.needsHands ? 'gate' : afterGate;
  const before: Record<string, StateConfig> = {
    ...decided(afterWhen),
    ...(step.needsHands ? handsGate(plan, afterGate) : {}),
    ...(plan.probe && check ? { probing: probing(plan, check, afterProbe) } : {}),
    ...(step.kind === 'edit' ? { preparing: preparing(plan, step, start) } : {}),
  };
  const initial = entering(afterWhen);
  if (step.kind === 'checkpoint') {
    return { id: plan.stateId, meta, initial, states: { ...before, working: confirming(plan), failed: failed(plan) } };
  }
  return {
    id: plan.stateId,
    meta,
    initial,
    states: {
      ...before,
      ...(needsApproval ? { approval: approval(plan) } : {}),
      working: working(plan),
      failed: failed(plan),
      ...(step.kind === 'reboot' ? { asking: asking(plan), following: following(plan) } : {}),
      ...(runsDetached(step) ? { following: following(plan), checkingAttempt: checkingAttempt(plan, step), stoppingAttempt: stoppingAttempt(plan, step) } : {}),
      interrupted: interrupted(plan),
      ...(check ? { checking: checking(plan, check) } : {}),
    },
  };
}

function planOf(step: Step, next: string, track: string, options: TrackOptions): StepPlan {
  const onFail = 'onFail' in step ? step.onFail : undefined;
  const fallback = options.hostFallback !== undefined ? undefined : fallbackOnFailure(options.fallbacks, step, track);
  const hostFallback = onFail === 'fallback' && options.hostFallback ? options.hostFallback : undefined;
  const failTarget =
    onFail === 'continue' ? next : hostFallback !== undefined ? hostFallback : fallback !== undefined ? `#${MACHINE_ID}.${fallback}` : 'failed';
  const probe = step.skipDone === true || options.probeChecks === true;
  const stateId = (options.stateIdOf ?? stepStateId)(step.id);
  return { step, stepId: step.id, next, failTarget, detached: runsDetached(step), probe, stateId };
}

/**
 * A `needs: hands` step starts at a transient gate: on to `target` (what the step does)
 * when someone is on site, else `held` until they are (HANDS) or the upgrader goes on
 * without them (OVERRIDE_HOLD, with a reason). FALLBACK and PAUSE work as anywhere.
 */
function handsGate(plan: StepPlan, target: string): Record<string, StateConfig> {
  const params = { stepId: plan.stepId };
  return {
    gate: { always: [{ guard: 'handsAvailable', target }, { target: 'held' }] },
    held: resting('held', {
      entry: [{ type: 'holdStep', params }],
      always: { guard: 'handsAvailable', target, actions: [{ type: 'releaseStep', params }] },
      on: {
        OVERRIDE_HOLD: [{ guard: allows(plan, 'held'), target, actions: [{ type: 'overrideHold', params }] }],
      },
    }),
  };
}

type OwnGuard = ReturnType<typeof allows> | { type: 'isAttempt'; params: { stepId: string } };

/**
 * Where a failure goes: on_fail's way, unless the attempt may still run on its host or
 * the upgrader asked for it (a retry, a reattach): then it comes back to them. `own` is
 * the transition's own condition, if any.
 */
function failing(plan: StepPlan, outcome: 'timeout' | 'cancel', own?: OwnGuard) {
  const finish = { type: 'finishStep' as const, params: { stepId: plan.stepId, outcome } };
  const mine = own ? [own] : [];
  const otherwise = { guard: and(mine), target: plan.failTarget, actions: failActions(plan, finish) };
  if (plan.failTarget === 'failed') return [otherwise];
  // A detached attempt stopped without its exit status may still run on its host (perhaps
  // one that cannot be reached to stop it): no fallback runs blind over it, the upgrader is asked.
  if (plan.detached && (isFallbackTarget(plan.failTarget) || isHostFallbackTarget(plan.failTarget)))
    return [{ guard: and(mine), target: 'failed', actions: [finish] }];
  const asks = { type: 'failureAsksUpgrader' as const, params: { stepId: plan.stepId } };
  return [{ guard: and([...mine, asks]), target: 'failed', actions: [finish] }, otherwise];
}

type Exited = { event: { output: CommandResult } };

/** A command's exit: done on status 0, else the same ways as `failing`. */
function exiting(plan: StepPlan) {
  const { stepId } = plan;
  const exitedZero = { type: 'exitedZero' as const, params: ({ event }: Exited) => ({ exitCode: event.output.exitCode }) };
  const done = { type: 'finishStep' as const, params: ({ event }: Exited) => ({ stepId, outcome: 'done' as const, output: event.output }) };
  const stored = { type: 'storeCaptured' as const, params: ({ event }: Exited) => ({ stepId, output: event.output }) };
  const finish = { type: 'finishStep' as const, params: ({ event }: Exited) => ({ stepId, outcome: 'exit' as const, output: event.output }) };
  const otherwise = { target: plan.failTarget, actions: failActions(plan, finish) };
  const asks = { type: 'failureAsksUpgrader' as const, params: { stepId } };
  const comesBack = plan.failTarget === 'failed' ? [] : [{ guard: asks, target: 'failed', actions: [finish] }];
  return [...captureMissing(plan), { guard: exitedZero, target: plan.next, actions: [stored, done] }, ...comesBack, otherwise];
}

function effectInvoke(plan: StepPlan, follow: boolean): StateConfig['invoke'] {
  const { step, stepId } = plan;
  const done = { target: plan.next, actions: [{ type: 'finishStep' as const, params: { stepId, outcome: 'done' as const } }] };
  const onError = failingWithError(plan);
  switch (step.kind) {
    case 'run':
      return { src: 'runRemote', input: follow ? { step, follow } : { step }, onDone: exiting(plan), onError };
    case 'local':
      return { src: 'runLocal', input: { step }, onDone: exiting(plan), onError };
    case 'wait':
      return { src: 'waitUntil', input: { step }, onDone: done, onError };
    case 'reboot':
      return { src: 'reboot', input: follow ? { step, follow } : { step }, onDone: done, onError };
    case 'upload':
      return { src: 'upload', input: { step }, onDone: done, onError };
    case 'preflight':
      return { src: 'preflight', input: { step }, onDone: done, onError };
    case 'edit':
      return { src: 'applyEdit', input: ({ context }: { context: EngineContext }) => ({ step, values: valuesFor(context, step) }), onDone: done, onError };
    case 'undo':
      return {
        src: 'undoEdit',
        input: ({ context }: { context: EngineContext }) => {
          const editedIn = context.steps[step.stepId]?.carriedFrom;
          return editedIn !== undefined ? { step, editedIn } : { step };
        },
        onDone: done,
        onError,
      };
    case 'guard':
      return { src: 'guard', input: { step }, onDone: done, onError };
    case 'checkpoint':
    case 'note':
      throw new Error(`step ${stepId} has no effect: it is a ${step.kind}`);
  }
}

function timeLimit(plan: StepPlan) {
  const { step } = plan;
  return 'timeoutMs' in step && step.timeoutMs !== undefined ? { [step.timeoutMs]: failing(plan, 'timeout') } : {};
}

/** An effect in flight, bounded by the step's time limit; the upgrader may cancel it. */
function running(plan: StepPlan, entry: StateConfig['entry'], follow: boolean): StateConfig {
  return resting('running', {
    entry,
    invoke: effectInvoke(plan, follow),
    after: timeLimit(plan),
    on: {
      TIMEOUT: failing(plan, 'timeout', { type: 'isAttempt', params: { stepId: plan.stepId } }),
      CANCEL: failing(plan, 'cancel', allows(plan, 'running')),
    },
  });
}

function working(plan: StepPlan): StateConfig {
  return running(plan, [{ type: 'startStep', params: { stepId: plan.stepId } }], false);
}

/**
 * The same attempt followed again: a command reattached, or a reboot said to be done
 * (waited for and verified). Nothing is started or issued on the host.
 */
function following(plan: StepPlan): StateConfig {
  return running(plan, [{ type: 'followAttempt', params: { stepId: plan.stepId } }], true);
}

/** A checkpoint waits for its roles; the last confirmation completes it. */
function confirming(plan: StepPlan): StateConfig {
  const { stepId } = plan;
  const params = { stepId };
  return resting('confirming', {
    entry: [
      { type: 'startStep', params },
      { type: 'awaitHumans', params: { stepId, for: 'confirmation' } },
    ],
    after: timeLimit(plan),
    on: {
      CONFIRM: [
        {
          guard: and([allows(plan, 'confirming'), { type: 'completesCheckpoint', params }]),
          target: plan.next,
          actions: [
            { type: 'recordConfirmation', params },
            { type: 'completeCheckpoint', params },
          ],
        },
        { guard: allows(plan, 'confirming'), actions: [{ type: 'recordConfirmation', params }] },
      ],
    },
  });
}

function approval(plan: StepPlan): StateConfig {
  const params = { stepId: plan.stepId };
  return resting('approval', {
    entry: [{ type: 'awaitHumans', params: { stepId: plan.stepId, for: 'approval' } }],
    on: { APPROVE: [{ guard: allows(plan, 'approval'), target: 'working', actions: [{ type: 'approve', params }] }] },
  });
}

/**
 * What the upgrader decides about a failed step, also while the site is asked about it. A
 * detached attempt that may still run is asked about on its host before a new one starts.
 */
function retryOrSkip(plan: StepPlan, place: 'failed' | 'asking') {
  const { stepId } = plan;
  const params = { stepId };
  const mayRun = plan.detached ? [{ guard: and([allows(plan, place), { type: 'attemptMayRun', params }]), target: 'checkingAttempt' }] : [];
  return {
    RETRY: [
      ...mayRun,
      // An edit is tried again from the file as it is now: a new diff, approved again.
      {
        guard: allows(plan, place),
        target: plan.step.kind === 'edit' ? 'preparing' : 'working',
        actions: [{ type: 'decide' as const, params: { stepId, action: 'retry' as const } }],
      },
    ],
    SKIP: [{ guard: allows(plan, place), target: plan.next, actions: [{ type: 'decide' as const, params: { stepId, action: 'skip' as const } }] }],
  };
}

function failed(plan: StepPlan): StateConfig {
  const { step, stepId } = plan;
  const params = { stepId };
  const allowed = allows(plan, 'failed');
  return resting('failed', {
    entry: [{ type: 'awaitHumans', params: { stepId, for: 'decision' } }],
    on: {
      ...retryOrSkip(plan, 'failed'),
      MARK_DONE: [
        step.kind === 'reboot'
          ? { guard: allowed, target: 'following', actions: [{ type: 'decideMarkDone', params }] }
          : { guard: allowed, target: plan.next, actions: [{ type: 'markDone', params }] },
      ],
      // Only to states the step has: the rules refuse these actions for the other steps.
      ...(step.kind === 'reboot' ? { ASK_SITE: [{ guard: allowed, target: 'asking', actions: [{ type: 'askSite', params }] }] } : {}),
      ...(plan.detached
        ? {
            REATTACH: [{ guard: allowed, target: 'following', actions: [{ type: 'reattach', params }] }],
            STOP_ATTEMPT: [{ guard: allowed, target: 'stoppingAttempt', actions: [{ type: 'decideStop', params }] }],
          }
        : {}),
    },
  });
}

/** A reboot that did not come back, put to the sentinel: their answer (or the upgrader's relay of it) goes back to waiting for the host. */
function asking(plan: StepPlan): StateConfig {
  const params = { stepId: plan.stepId };
  return resting('asking', {
    entry: [{ type: 'awaitHumans', params: { stepId: plan.stepId, for: 'confirmation' } }],
    exit: [{ type: 'settleAsk', params }],
    on: {
      CONFIRM: [{ guard: allows(plan, 'asking'), target: 'working', actions: [{ type: 'recordConfirmation', params }] }],
      ...retryOrSkip(plan, 'asking'),
    },
  });
}

type Told = { event: { output: AttemptState } };

/** The attempt that may still run, as its host's run folder tells: looked at before a retry, and after a stop. */
function attemptEffect(plan: StepPlan, step: RunStep, src: 'checkAttempt' | 'stopAttempt') {
  const { stepId } = plan;
  const action = src === 'checkAttempt' ? ('retry' as const) : ('stop' as const);
  const recordOutput = { type: 'recordAttemptState' as const, params: ({ event }: Told) => ({ stepId, found: { output: event.output } }) };
  const recordError = { type: 'recordAttemptState' as const, params: ({ event }: Errored) => ({ stepId, found: { error: event.error } }) };
  const refuseOutput = { type: 'refuseAttempt' as const, params: ({ event }: Told) => ({ stepId, action, found: { output: event.output } }) };
  const refuseError = { type: 'refuseAttempt' as const, params: ({ event }: Errored) => ({ stepId, action, found: { error: event.error } }) };
  const ended = { type: 'attemptEnded' as const, params: ({ event }: Told) => ({ state: event.output }) };
  // A retry goes on once the attempt has ended (or never started); a stop settles it.
  const onEnded =
    src === 'checkAttempt'
      ? { guard: ended, target: 'working', actions: [recordOutput, { type: 'decide' as const, params: { stepId, action: 'retry' as const } }] }
      : {
          guard: ended,
          target: 'failed',
          actions: [recordOutput, { type: 'settleStoppedAttempt' as const, params: ({ event }: Told) => ({ stepId, state: event.output }) }],
        };
  return {
    src,
    input: ({ context }: { context: EngineContext }) => attemptOf(context, step),
    onDone: [onEnded, { target: 'failed', actions: [recordOutput, refuseOutput] }],
    onError: { target: 'failed', actions: [recordError, refuseError] },
  };
}

function checkingAttempt(plan: StepPlan, step: RunStep): StateConfig {
  return resting('checkingAttempt', { invoke: attemptEffect(plan, step, 'checkAttempt') });
}

function stoppingAttempt(plan: StepPlan, step: RunStep): StateConfig {
  return resting('stoppingAttempt', { invoke: attemptEffect(plan, step, 'stopAttempt') });
}

/** A command step with a check: what an interrupted attempt is checked with. */
function checkOf(step: Step) {
  return (step.kind === 'run' || step.kind === 'local') && step.check !== undefined ? step : undefined;
}

/**
 * A step in flight when nightshift stopped is restored here (never straight into
 * 'working': that would run it again blindly), then RESUME checks it or asks.
 */
function interrupted(plan: StepPlan): StateConfig {
  const params = { stepId: plan.stepId };
  const resume = checkOf(plan.step)
    ? { guard: allows(plan, 'interrupted'), target: 'checking' }
    : { guard: allows(plan, 'interrupted'), target: 'failed', actions: [{ type: 'interruptStep' as const, params }] };
  return resting('interrupted', { on: { RESUME: [resume] } });
}

function checking(plan: StepPlan, check: RunStep | LocalStep): StateConfig {
  const { stepId } = plan;
  const params = { stepId };
  const recordOutput = { type: 'recordCheck' as const, params: ({ event }: Exited) => ({ stepId, found: { output: event.output } }) };
  const recordError = { type: 'recordCheck' as const, params: ({ event }: Errored) => ({ stepId, found: { error: event.error } }) };
  return resting('checking', {
    invoke: {
      src: 'runCheck',
      input: { step: check },
      onDone: [
        {
          guard: { type: 'exitedZero', params: ({ event }) => ({ exitCode: event.output.exitCode }) },
          target: plan.next,
          actions: [recordOutput, { type: 'finishStep', params: ({ event }) => ({ stepId, outcome: 'done' as const, output: event.output }) }],
        },
        { target: 'failed', actions: [recordOutput, { type: 'interruptStep', params }] },
      ],
      onError: { target: 'failed', actions: [recordError, { type: 'interruptStep', params }] },
    },
  });
}
