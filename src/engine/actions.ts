// The machine's actions: what each transition records in the context and tells the world
// (the journal, the screens). What an effect returned comes in through the action's
// params, typed where the transition reads it from its done or error event.
import { enqueueActions, type ParameterizedObject } from 'xstate';
import { formatDuration } from '../runbook/duration.js';
import type { Role } from '../runbook/types.js';
import { waitMissed } from '../runbook/wait-text.js';
import { capturedKey, handsOf, updateStep, valuesOf, type EngineContext } from './context.js';
import { NIGHTSHIFT, type Actor, type EngineEmitted, type EngineEvent, type Outcome, type StepRecord } from './events.js';
import { afterFallbackReason, automaticFallbackReason } from './fallback-scope.js';
import { isHumanEvent } from './guards.js';
import { waitingFleetStep } from './fleet-rules.js';
import { pendingRoles, refusalOf, restingFor, type Position, type RestingSnapshot, type RuleBook } from './rules.js';
import { describeAttemptState, leavesAttemptRunning, retryRefusal, runsDetached, stopRefusal, type AttemptState } from './unsettled-attempt.js';

export interface CommandResult {
  exitCode: number | null;
  signal?: string;
  /** The value the step's `capture:` took from its stdout, when it exited 0 and has one. */
  captured?: string;
}

/** How an effect ended: its output, or what it threw. */
export type Settled<T> = { output: T } | { error: unknown };

/** How a step's attempt ended, for `finishStep`. */
export type Ending =
  | { outcome: 'done'; output?: CommandResult }
  | { outcome: 'exit'; output: CommandResult }
  | { outcome: 'error'; error: unknown }
  | { outcome: 'timeout' }
  | { outcome: 'cancel' };

function act<P extends ParameterizedObject['params'] | undefined>(
  collect: Parameters<typeof enqueueActions<EngineContext, EngineEvent, P, EngineEvent, never, never, never, never, EngineEmitted>>[0],
) {
  return enqueueActions<EngineContext, EngineEvent, P, EngineEvent, never, never, never, never, EngineEmitted>(collect);
}

export function actorOf(event: EngineEvent): Actor {
  return 'by' in event ? event.by : NIGHTSHIFT;
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

export function engineActions(book: RuleBook) {
  const { stepOf } = book;
  /** A refusal of a person's action where the run rests (`at`), with the rules' reason: the same rules the guard asked. */
  const refusalEvent = (context: EngineContext, event: EngineEvent, at: Position): EngineEmitted | null => {
    if (!isHumanEvent(event)) return null;
    const reason = refusalOf({ book, context, at }, event) ?? `${event.type.toLowerCase()} is not possible now`;
    const stepId = 'stepId' in event ? (at?.stepId ?? event.stepId) : (at?.stepId ?? null);
    return { type: 'step.refused', stepId, action: event.type, by: event.by, reason, at: Date.now() };
  };
  /**
   * The context's steps patched for `stepId`, and the step in focus after it: one outside a
   * for_each phase takes the focus or lets it go (null); a host's step beside others takes
   * it unless another step waits for a person, and letting it go hands it to one that waits.
   */
  const focused = (context: EngineContext, stepId: string, change: 'take' | 'release', patch: Partial<StepRecord> = {}) => {
    const steps = updateStep(context, stepId, patch);
    if (!stepOf(stepId).instanceOf) return { steps, current: change === 'take' ? stepId : null };
    const other = waitingFleetStep(book.fleets, context, steps, stepId);
    const waits = (id: string | null) => id !== null && id !== stepId && (steps[id]?.status === 'failed' || steps[id]?.status === 'waiting');
    if (change === 'take') return { steps, current: waits(context.current) && other !== undefined ? context.current : stepId };
    return { steps, current: other ?? null };
  };
  return {
    startStep: act<{ stepId: string }>(({ context, enqueue }, { stepId }) => {
      const attempt = context.steps[stepId]!.attempts + 1;
      const at = Date.now();
      enqueue.assign(focused(context, stepId, 'take', { status: 'running', attempts: attempt, startedAt: at, exitCode: undefined, error: undefined }));
      enqueue.emit({ type: 'step.started', stepId, attempt, at });
    }),
    awaitHumans: act<{ stepId: string; for: 'approval' | 'confirmation' | 'decision' }>(({ context, enqueue }, params) => {
      const roles: Role[] = params.for === 'confirmation' ? pendingRoles(book, context, params.stepId) : ['upgrader'];
      if (params.for !== 'decision') {
        enqueue.assign(focused(context, params.stepId, 'take', { status: 'waiting' }));
      }
      enqueue.emit({ type: 'step.waiting', stepId: params.stepId, for: params.for, roles, at: Date.now() });
    }),
    finishStep: act<{ stepId: string } & Ending>(({ context, event, enqueue }, params) => {
      const { stepId } = params;
      const record = context.steps[stepId]!;
      const at = Date.now();
      const step = stepOf(stepId);
      let exitCode: number | null | undefined;
      let error: string | undefined;
      if (params.outcome === 'done') exitCode = params.output?.exitCode;
      else if (params.outcome === 'exit') {
        exitCode = params.output.exitCode;
        error = exitCode === null ? `killed by signal ${params.output.signal ?? '?'}` : `exited with status ${exitCode}`;
      } else if (params.outcome === 'error') error = messageOf(params.error);
      else if (params.outcome === 'timeout' && step.kind === 'wait') error = waitMissed(step);
      else if (params.outcome === 'timeout') {
        error = `did not finish within ${'timeoutMs' in step && step.timeoutMs !== undefined ? formatDuration(step.timeoutMs) : 'its time limit'}`;
      } else error = `cancelled by ${'by' in event ? event.by.name : 'the upgrader'}`;
      const status = params.outcome === 'done' ? 'done' : 'failed';
      // Stopped without its exit status: a detached command may go on on its host.
      const unsettled =
        runsDetached(step) &&
        (params.outcome === 'timeout' || params.outcome === 'cancel' || (params.outcome === 'error' && leavesAttemptRunning(params.error)));
      enqueue.assign(
        focused(context, stepId, status === 'done' ? 'release' : 'take', {
          status,
          endedAt: at,
          mayStillRun: unsettled ? record.attempts : undefined,
          ...(exitCode !== undefined ? { exitCode } : {}),
          ...(error !== undefined ? { error } : {}),
        }),
      );
      enqueue.emit({
        type: 'step.finished',
        stepId,
        status,
        ...(exitCode !== undefined ? { exitCode } : {}),
        ...(error !== undefined ? { error } : {}),
        durationMs: at - (record.startedAt ?? at),
        at,
      });
      if (params.outcome === 'cancel') enqueue.emit({ type: 'decision', stepId, action: 'cancel', by: actorOf(event), at });
    }),
    /** A step's `capture:` found its value: kept for later steps' {{name}} (and in the snapshot, for a resume). */
    storeCaptured: act<{ stepId: string; output: CommandResult }>(({ context, enqueue }, { stepId, output }) => {
      const step = stepOf(stepId);
      if (output.captured === undefined || (step.kind !== 'run' && step.kind !== 'local') || step.capture === undefined) return;
      const { name } = step.capture;
      enqueue.assign({ values: { ...valuesOf(context), [capturedKey(name, step)]: output.captured } });
      enqueue.emit({ type: 'value.captured', stepId, name, value: output.captured, at: Date.now() });
    }),
    interruptStep: act<{ stepId: string }>(({ context, enqueue }, { stepId }) => {
      const record = context.steps[stepId]!;
      const at = Date.now();
      const step = stepOf(stepId);
      const error =
        step.kind === 'reboot'
          ? `nightshift stopped while attempt ${record.attempts} rebooted ${step.host}. ` +
            'Retry waits for it to come back and verifies it; done (with a reason) verifies it now; ' +
            'a reboot that was issued is not issued again'
          : `nightshift stopped while attempt ${record.attempts} ran; it may or may not have finished. ` +
            'Look on the machine, then re-run it (retry), mark it done with a reason, or fall back';
      enqueue.assign(focused(context, stepId, 'take', { status: 'failed', endedAt: at, error, interrupted: true }));
      enqueue.emit({ type: 'step.finished', stepId, status: 'failed', error, durationMs: at - (record.startedAt ?? at), at });
    }),
    holdStep: act<{ stepId: string }>(({ context, enqueue }, { stepId }) => {
      enqueue.assign(focused(context, stepId, 'take', { status: 'waiting' }));
      enqueue.emit({ type: 'step.held', stepId, why: handsOf(context).why, at: Date.now() });
    }),
    releaseStep: act<{ stepId: string }>(({ enqueue }, { stepId }) => {
      enqueue.emit({ type: 'step.released', stepId, at: Date.now() });
    }),
    overrideHold: act<{ stepId: string }>(({ event, enqueue }, { stepId }) => {
      const reason = event.type === 'OVERRIDE_HOLD' ? event.reason.trim() : '';
      enqueue.emit({ type: 'decision', stepId, action: 'override', by: actorOf(event), reason, at: Date.now() });
    }),
    recordCheck: act<{ stepId: string; found: Settled<CommandResult> }>(({ enqueue }, { stepId, found }) => {
      enqueue.emit({
        type: 'step.checked',
        stepId,
        exitCode: 'output' in found ? found.output.exitCode : null,
        ...('error' in found ? { error: messageOf(found.error) } : {}),
        at: Date.now(),
      });
    }),
    askSite: act<{ stepId: string }>(({ context, event, enqueue }, { stepId }) => {
      if (event.type !== 'ASK_SITE') return;
      const request = event.request.trim();
      enqueue.assign(focused(context, stepId, 'take', { status: 'waiting', asked: request }));
      enqueue.emit({ type: 'decision', stepId, action: 'ask-site', by: actorOf(event), reason: request, at: Date.now() });
    }),
    settleAsk: act<{ stepId: string }>(({ context, enqueue }, { stepId }) => {
      enqueue.assign({ steps: updateStep(context, stepId, { asked: undefined }) });
    }),
    markDone: act<{ stepId: string }>(({ context, event, enqueue }, { stepId }) => {
      const at = Date.now();
      const reason = event.type === 'MARK_DONE' ? event.reason.trim() : undefined;
      enqueue.assign(focused(context, stepId, 'release', { status: 'done', error: undefined, endedAt: at }));
      enqueue.emit({ type: 'decision', stepId, action: 'mark-done', by: actorOf(event), ...(reason ? { reason } : {}), at });
    }),
    /** A reboot said to be done is verified before it counts: the decision now, the verdict when its check ends. */
    decideMarkDone: act<{ stepId: string }>(({ context, event, enqueue }, { stepId }) => {
      const reason = event.type === 'MARK_DONE' ? event.reason.trim() : undefined;
      enqueue.assign({ steps: updateStep(context, stepId, { followsDecision: true }) });
      enqueue.emit({ type: 'decision', stepId, action: 'mark-done', by: actorOf(event), ...(reason ? { reason } : {}), at: Date.now() });
    }),
    /** A check asked first passed (`skip_done`, going again): the step is done without running, with what the check printed. */
    findDone: act<{ stepId: string; output: string }>(({ context, enqueue }, { stepId, output }) => {
      const at = Date.now();
      enqueue.assign(focused(context, stepId, 'release', { status: 'done', startedAt: at, endedAt: at, exitCode: 0, foundDone: true }));
      enqueue.emit({ type: 'step.found-done', stepId, output, at });
    }),
    passNote: act<{ stepId: string }>(({ context, enqueue }, { stepId }) => {
      const at = Date.now();
      enqueue.assign({ steps: updateStep(context, stepId, { status: 'done', attempts: 1, startedAt: at, endedAt: at }) });
      enqueue.emit({ type: 'step.started', stepId, attempt: 1, at });
      enqueue.emit({ type: 'step.finished', stepId, status: 'done', durationMs: 0, at });
    }),
    recordConfirmation: act<{ stepId: string }>(({ context, event, enqueue }, { stepId }) => {
      if (event.type !== 'CONFIRM') return;
      const at = Date.now();
      const relayed = event.by.role !== event.role;
      const record = context.steps[stepId]!;
      enqueue.assign({
        steps: updateStep(context, stepId, { confirmations: [...record.confirmations, { role: event.role, by: event.by, at, relayed }] }),
      });
      enqueue.emit({ type: 'step.confirmed', stepId, role: event.role, by: event.by, relayed, at });
    }),
    completeCheckpoint: act<{ stepId: string }>(({ context, enqueue }, { stepId }) => {
      const at = Date.now();
      const record = context.steps[stepId]!;
      enqueue.assign(focused(context, stepId, 'release', { status: 'done', endedAt: at }));
      enqueue.emit({ type: 'step.finished', stepId, status: 'done', durationMs: at - (record.startedAt ?? at), at });
    }),
    /** A person's action not taken where the run rests (`at`), with the rules' reason: the same rules the guard asked. */
    refuse: act<{ at: Position }>(({ context, event, enqueue }, { at }) => {
      const refused = refusalEvent(context, event, at);
      if (refused) enqueue.emit(refused);
    }),
    /**
     * A person's action no state took, refused where the run rests. Read from the snapshot
     * the event arrived at (the machine's own, while it takes the event), since a refusal
     * changes no state.
     */
    refuseWhereResting: act(({ context, event, enqueue, self }) => {
      const refused = refusalEvent(context, event, restingFor(self.getSnapshot() as RestingSnapshot, event, book.hostSteps));
      if (refused) enqueue.emit(refused);
    }),
    /** An edit step's change as worked out on its host: the diff the upgrader is asked about, or nothing to change. */
    recordEditPlan: act<{ stepId: string; path: string; changed: boolean; diff: string }>(({ enqueue }, params) => {
      enqueue.emit({ type: 'edit.prepared', ...params, at: Date.now() });
    }),
    approve: act<{ stepId: string }>(({ event, enqueue }, { stepId }) => {
      enqueue.emit({ type: 'step.approved', stepId, by: actorOf(event), at: Date.now() });
    }),
    decide: act<{ stepId: string; action: 'retry' | 'skip' | 'continue' }>(({ context, event, enqueue }, { stepId, action }) => {
      const at = Date.now();
      const reason = event.type === 'SKIP' ? event.reason.trim() : undefined;
      if (action === 'skip') {
        enqueue.assign(focused(context, stepId, 'release', { status: 'skipped', skipReason: reason ?? '' }));
        enqueue.emit({ type: 'step.skipped', stepId, by: actorOf(event), reason: reason ?? '', at });
      }
      if (action === 'continue') enqueue.assign({ current: focused(context, stepId, 'release').current });
      if (action === 'retry') enqueue.assign({ steps: updateStep(context, stepId, { followsDecision: true, mayStillRun: undefined }) });
      enqueue.emit({
        type: 'decision',
        stepId,
        action,
        by: action === 'continue' ? NIGHTSHIFT : actorOf(event),
        ...(action === 'continue' ? { reason: 'on_fail: continue' } : reason ? { reason } : {}),
        at,
      });
    }),
    /** A step whose `when:` does not hold: skipped by nightshift, with the condition and what was found as the reason. */
    skipUnmet: act<{ stepId: string; reason: string }>(({ context, enqueue }, { stepId, reason }) => {
      enqueue.assign(focused(context, stepId, 'release', { status: 'skipped', skipReason: reason }));
      enqueue.emit({ type: 'step.skipped', stepId, by: NIGHTSHIFT, reason, at: Date.now() });
    }),
    reattach: act<{ stepId: string }>(({ context, event, enqueue }, { stepId }) => {
      const attempt = context.steps[stepId]!.mayStillRun;
      enqueue.assign({ steps: updateStep(context, stepId, { followsDecision: true }) });
      enqueue.emit({ type: 'decision', stepId, action: 'reattach', by: actorOf(event), ...(attempt ? { attempt } : {}), at: Date.now() });
    }),
    followAttempt: act<{ stepId: string }>(({ context, enqueue }, { stepId }) => {
      enqueue.assign(focused(context, stepId, 'take', { status: 'running', mayStillRun: undefined, exitCode: undefined, error: undefined }));
    }),
    decideStop: act<{ stepId: string }>(({ context, event, enqueue }, { stepId }) => {
      const attempt = context.steps[stepId]!.mayStillRun;
      enqueue.emit({ type: 'decision', stepId, action: 'stop', by: actorOf(event), ...(attempt ? { attempt } : {}), at: Date.now() });
    }),
    recordAttemptState: act<{ stepId: string; found: Settled<AttemptState> }>(({ context, enqueue }, { stepId, found }) => {
      const record = context.steps[stepId]!;
      const attempt = record.mayStillRun ?? record.attempts;
      const at = Date.now();
      if ('error' in found) {
        enqueue.emit({ type: 'attempt.checked', stepId, attempt, state: 'unreachable', error: messageOf(found.error), at });
        return;
      }
      const state = found.output;
      enqueue.emit({
        type: 'attempt.checked',
        stepId,
        attempt,
        state: state.state,
        ...(state.state === 'running' ? { pid: state.pid } : {}),
        ...(state.state === 'ended' ? { exitCode: state.exitCode } : {}),
        ...(state.state === 'unknown' ? { error: state.why } : {}),
        at,
      });
    }),
    /** A retry or stop nightshift could not carry out, from what the host said (or why it could not be asked). */
    refuseAttempt: act<{ stepId: string; action: 'retry' | 'stop'; found: Settled<AttemptState> }>(({ context, enqueue }, params) => {
      const { stepId, found } = params;
      const step = stepOf(stepId);
      if (!runsDetached(step)) return;
      const attempt = context.steps[stepId]!.mayStillRun ?? context.steps[stepId]!.attempts;
      const told = 'output' in found ? found.output : { unreachable: messageOf(found.error) };
      const reason = params.action === 'retry' ? retryRefusal(step, attempt, told) : stopRefusal(step, attempt, told);
      const action = params.action === 'retry' ? 'RETRY' : 'STOP_ATTEMPT';
      enqueue.emit({ type: 'step.refused', stepId, action, by: NIGHTSHIFT, reason, at: Date.now() });
    }),
    settleStoppedAttempt: act<{ stepId: string; state: AttemptState }>(({ context, enqueue }, { stepId, state }) => {
      const record = context.steps[stepId]!;
      const error = `${record.error ?? 'failed'}; then attempt ${record.mayStillRun ?? record.attempts} was stopped: it ${describeAttemptState(state)}`;
      enqueue.assign({ steps: updateStep(context, stepId, { mayStillRun: undefined, error }) });
    }),
    /** `stepId`: the step whose failure falls back; `after`: the phase whose fallback was done and says fallback_then: outer; neither when a person asked. */
    requestFallback: act<{ stepId?: string; after?: string }>(({ context, event, enqueue }, params) => {
      const automatic = params.stepId !== undefined || params.after !== undefined;
      const by = automatic ? NIGHTSHIFT : actorOf(event);
      const fromStepId = params.stepId ?? (params.after !== undefined ? (context.fallback?.fromStepId ?? null) : context.current);
      const reason =
        params.after !== undefined
          ? afterFallbackReason(params.after)
          : params.stepId !== undefined
            ? automaticFallbackReason(book.fallbacks, stepOf(params.stepId))
            : event.type === 'FALLBACK'
              ? event.reason.trim()
              : 'fallback';
      enqueue.assign({ fallback: { by, reason, fromStepId } });
      enqueue.emit({ type: 'decision', stepId: fromStepId, action: 'fallback', by, reason, at: Date.now() });
    }),
    /** `scope`: the phase whose own fallback starts, or null for the runbook's. */
    enterFallback: act<{ scope: string | null }>(({ context, enqueue }, { scope }) => {
      enqueue.assign({ track: 'fallback', current: null, scope });
      const request = context.fallback ?? { by: NIGHTSHIFT, reason: 'fallback', fromStepId: null };
      enqueue.emit({ type: 'fallback.started', ...request, scope, at: Date.now() });
    }),
    setHands: act<undefined>(({ event, enqueue }) => {
      if (event.type === 'HANDS') enqueue.assign({ hands: { available: event.available, why: event.why } });
    }),
    pause: act<undefined>(({ context, event, enqueue }) => {
      enqueue.emit({ type: 'decision', stepId: context.current, action: 'pause', by: actorOf(event), at: Date.now() });
    }),
    finishRun: act<{ outcome: Outcome }>(({ enqueue }, { outcome }) => {
      enqueue.emit({ type: 'run.finished', outcome, at: Date.now() });
    }),
  };
}
