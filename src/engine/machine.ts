// Compiles a runbook into an XState machine: one state per step, grouped in the main track
// and the fallback track. The engine performs no effects itself: running commands and
// waiting for hosts are actors the composition root provides.
import { and, enqueueActions, fromPromise, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { formatDuration } from '../runbook/duration.js';
import {
  rolesOf,
  type LocalStep,
  type PreflightStep,
  type RebootStep,
  type Role,
  type Runbook,
  type RunStep,
  type Step,
  type UploadStep,
  type WaitStep,
} from '../runbook/types.js';
import { waitMissed } from '../runbook/wait-text.js';
import { NIGHTSHIFT, type Actor, type EngineEmitted, type EngineEvent, type HumanAction, type StepRecord } from './events.js';
import {
  describeAttemptState,
  hasEnded,
  leavesAttemptRunning,
  retryRefusal,
  runsDetached,
  stopRefusal,
  type AttemptState,
} from './unsettled-attempt.js';

export interface CommandResult {
  exitCode: number | null;
  signal?: string;
}

export interface EngineContext {
  steps: Record<string, StepRecord>;
  track: 'main' | 'fallback';
  /** The step in focus: running, waiting for someone, or failed. */
  current: string | null;
  fallback?: { by: Actor; reason: string; fromStepId: string | null };
  /**
   * Whether someone is on site for `needs: hands` steps (told by the runner with HANDS).
   * A context saved before this existed has none: read it with `handsOf`.
   */
  hands: Hands;
}

export interface Hands {
  available: boolean;
  /** Why not, when not available: "no sentinel has joined", "the sentinel is away". */
  why: string;
}

export const NO_HANDS: Hands = { available: false, why: 'no sentinel has joined' };

/** The context's hands; missing (an old saved context) counts as unavailable. */
export function handsOf(context: { hands?: Hands }): Hands {
  return context.hands ?? NO_HANDS;
}

export interface CompileOptions {
  /**
   * Whether the upgrader may record a confirmation on behalf of another role (told by
   * phone or chat). Journaled as relayed either way.
   */
  relaysAllowed?: boolean;
}

export const MACHINE_ID = 'nightshift';
const FINAL = 'DONE'; // upper case: cannot clash with a step id

const notProvided = (name: string) =>
  fromPromise<never, unknown>(async () => {
    throw new Error(`the ${name} effect was not provided to the engine`);
  });

export function compileRunbook(runbook: Runbook, options: CompileOptions = {}) {
  const stepsById = new Map<string, Step>(
    [...runbook.phases.flatMap((phase) => phase.steps), ...runbook.fallback].map((step) => [step.id, step]),
  );
  const stepOf = (stepId: string): Step => {
    const step = stepsById.get(stepId);
    if (!step) throw new Error(`unknown step ${stepId}`);
    return step;
  };
  const relaysAllowed = options.relaysAllowed ?? true;

  /** Why a confirmation cannot count, or null when it can. */
  const confirmationProblem = (context: EngineContext, stepId: string, event: EngineEvent): string | null => {
    if (event.type !== 'CONFIRM') return 'not a confirmation';
    if (event.stepId !== stepId) return `that confirmation is for step ${event.stepId}, but ${stepId} is waiting`;
    const step = stepOf(stepId);
    const record = context.steps[stepId]!;
    const asked = step.kind !== 'checkpoint' && record.asked !== undefined;
    if (step.kind !== 'checkpoint' && !asked) return 'this step is not a checkpoint';
    const roles = confirmingRoles(context, stepId);
    if (!roles.includes(event.role)) return `this ${asked ? 'request' : 'checkpoint'} is for the ${roles.join(' and the ')}, not the ${event.role}`;
    if (event.by.role === 'observer') return `an observer only watches: only the ${event.role} can confirm for the ${event.role}`;
    if (event.by.role !== event.role && !(relaysAllowed && event.by.role === 'upgrader')) {
      return `only the ${event.role} can confirm for the ${event.role}`;
    }
    if (asked) return null;
    if (record.confirmations.some((c) => c.role === event.role)) {
      return `the ${event.role} has already confirmed`;
    }
    if (step.kind === 'checkpoint' && step.confirmText !== undefined && (event.value ?? '').trim() !== step.confirmText) {
      return `the typed text does not match "${step.confirmText}"`;
    }
    return null;
  };

  /** Who confirms a step: a checkpoint's roles, or the sentinel for a step they were asked about. */
  const confirmingRoles = (context: EngineContext, stepId: string): Role[] => {
    const step = stepOf(stepId);
    if (step.kind === 'checkpoint') return rolesOf(step.by);
    return context.steps[stepId]!.asked !== undefined ? ['sentinel'] : [];
  };

  const pendingRoles = (context: EngineContext, stepId: string): Role[] => {
    if (stepOf(stepId).kind !== 'checkpoint') return confirmingRoles(context, stepId);
    const confirmed = new Set(context.steps[stepId]!.confirmations.map((c) => c.role));
    return confirmingRoles(context, stepId).filter((role) => !confirmed.has(role));
  };

  const updateStep = (context: EngineContext, stepId: string, patch: Partial<StepRecord>) => ({
    ...context.steps,
    [stepId]: { ...context.steps[stepId]!, ...patch },
  });

  const machineSetup = setup({
    types: {
      context: {} as EngineContext,
      events: {} as EngineEvent,
      emitted: {} as EngineEmitted,
    },
    actors: {
      /** `follow`: the step's last attempt is followed again (reattached), nothing is started. */
      runRemote: notProvided('remote command') as ReturnType<typeof fromPromise<CommandResult, { step: Step; follow?: boolean }>>,
      runLocal: notProvided('local command') as ReturnType<typeof fromPromise<CommandResult, { step: Step }>>,
      waitUntil: notProvided('wait') as ReturnType<typeof fromPromise<void, { step: WaitStep }>>,
      upload: notProvided('upload') as ReturnType<typeof fromPromise<void, { step: UploadStep }>>,
      /** `follow`: a reboot already issued is waited for and verified; it is never issued (again). */
      reboot: notProvided('reboot') as ReturnType<typeof fromPromise<void, { step: RebootStep; follow?: boolean }>>,
      preflight: notProvided('preflight') as ReturnType<typeof fromPromise<void, { step: PreflightStep }>>,
      runCheck: notProvided('check') as ReturnType<typeof fromPromise<CommandResult, { step: RunStep | LocalStep }>>,
      /** Reads what the run folder of a detached attempt says; throws when its host cannot be reached. */
      checkAttempt: notProvided('attempt check') as ReturnType<typeof fromPromise<AttemptState, { step: RunStep; attempt: number }>>,
      /** TERMs a detached attempt's process group and reads how it ended; throws when its host cannot be reached. */
      stopAttempt: notProvided('attempt stop') as ReturnType<typeof fromPromise<AttemptState, { step: RunStep; attempt: number }>>,
    },
    guards: {
      isStep: ({ event }, params: { stepId: string }) => 'stepId' in event && event.stepId === params.stepId,
      exitedZero: ({ event }) => (event as unknown as { output: CommandResult }).output.exitCode === 0,
      confirmationCounts: ({ context, event }, params: { stepId: string }) =>
        confirmationProblem(context, params.stepId, event) === null,
      confirmationCompletes: ({ context, event }, params: { stepId: string }) =>
        confirmationProblem(context, params.stepId, event) === null &&
        event.type === 'CONFIRM' &&
        pendingRoles(context, params.stepId).every((role) => role === event.role),
      approvalMatches: ({ event }, params: { stepId: string }) => {
        const step = stepOf(params.stepId);
        return (
          event.type === 'APPROVE' &&
          event.stepId === params.stepId &&
          'confirmText' in step &&
          event.value.trim() === step.confirmText
        );
      },
      skipHasReason: ({ event }, params: { stepId: string }) =>
        event.type === 'SKIP' && event.stepId === params.stepId && event.reason.trim().length > 0,
      isAttempt: ({ context, event }, params: { stepId: string }) =>
        event.type === 'TIMEOUT' && event.stepId === params.stepId && context.steps[params.stepId]?.attempts === event.attempt,
      canMarkDone: ({ context, event }, params: { stepId: string }) =>
        event.type === 'MARK_DONE' &&
        event.stepId === params.stepId &&
        event.reason.trim().length > 0 &&
        context.steps[params.stepId]?.interrupted === true,
      canFallBack: ({ context, event }) =>
        context.track === 'main' && runbook.fallback.length > 0 && event.type === 'FALLBACK' && event.reason.trim() !== '',
      handsAvailable: ({ context }) => handsOf(context).available,
      canOverrideHold: ({ event }, params: { stepId: string }) =>
        event.type === 'OVERRIDE_HOLD' &&
        event.stepId === params.stepId &&
        event.by.role === 'upgrader' &&
        event.reason.trim().length > 0,
      canAskSite: ({ event }, params: { stepId: string }) =>
        event.type === 'ASK_SITE' &&
        event.stepId === params.stepId &&
        event.by.role === 'upgrader' &&
        event.request.trim() !== '',
      canPause: ({ context }) => context.current === null || context.steps[context.current]?.status !== 'running',
      attemptMayRun: ({ context, event }, params: { stepId: string }) =>
        'stepId' in event && event.stepId === params.stepId && context.steps[params.stepId]?.mayStillRun !== undefined,
      attemptEnded: ({ event }) => hasEnded((event as unknown as { output: AttemptState }).output),
      /** A failure that comes back to the upgrader whatever on_fail says: its attempt may still run, or they asked for it. */
      failureAsksUpgrader: ({ context, event }, params: { stepId: string }) =>
        context.steps[params.stepId]?.followsDecision === true || leavesAttemptRunning((event as { error?: unknown }).error),
    },
    actions: {
      startStep: enqueueActions(({ context, enqueue }, params: { stepId: string }) => {
        const attempt = context.steps[params.stepId]!.attempts + 1;
        const at = Date.now();
        enqueue.assign({
          current: params.stepId,
          steps: updateStep(context, params.stepId, {
            status: 'running',
            attempts: attempt,
            startedAt: at,
            exitCode: undefined,
            error: undefined,
          }),
        });
        enqueue.emit({ type: 'step.started', stepId: params.stepId, attempt, at });
      }),
      awaitHumans: enqueueActions(
        ({ context, enqueue }, params: { stepId: string; for: 'approval' | 'confirmation' | 'decision' }) => {
          const roles: Role[] = params.for === 'confirmation' ? pendingRoles(context, params.stepId) : ['upgrader'];
          if (params.for !== 'decision') {
            enqueue.assign({ current: params.stepId, steps: updateStep(context, params.stepId, { status: 'waiting' }) });
          }
          enqueue.emit({ type: 'step.waiting', stepId: params.stepId, for: params.for, roles, at: Date.now() });
        },
      ),
      finishStep: enqueueActions(
        ({ context, event, enqueue }, params: { stepId: string; outcome: 'done' | 'exit' | 'error' | 'timeout' | 'cancel' }) => {
          const record = context.steps[params.stepId]!;
          const at = Date.now();
          const step = stepOf(params.stepId);
          let exitCode: number | null | undefined;
          let error: string | undefined;
          if (params.outcome === 'done' || params.outcome === 'exit') {
            const output = (event as unknown as { output?: CommandResult }).output;
            exitCode = output?.exitCode;
            if (params.outcome === 'exit') {
              error = output?.exitCode === null ? `killed by signal ${output.signal ?? '?'}` : `exited with status ${output?.exitCode}`;
            }
          } else if (params.outcome === 'error') {
            const cause = (event as unknown as { error?: unknown }).error;
            error = cause instanceof Error ? cause.message : String(cause);
          } else if (params.outcome === 'timeout' && step.kind === 'wait') {
            error = waitMissed(step);
          } else if (params.outcome === 'timeout') {
            error = `did not finish within ${'timeoutMs' in step && step.timeoutMs !== undefined ? formatDuration(step.timeoutMs) : 'its time limit'}`;
          } else {
            error = `cancelled by ${(event as { by?: Actor }).by?.name ?? 'the upgrader'}`;
          }
          const status = params.outcome === 'done' ? 'done' : 'failed';
          // Stopped without its exit status: a detached command may go on on its host.
          const unsettled =
            runsDetached(step) &&
            (params.outcome === 'timeout' ||
              params.outcome === 'cancel' ||
              (params.outcome === 'error' && leavesAttemptRunning((event as unknown as { error?: unknown }).error)));
          enqueue.assign({
            current: status === 'done' ? null : params.stepId,
            steps: updateStep(context, params.stepId, {
              status,
              endedAt: at,
              mayStillRun: unsettled ? record.attempts : undefined,
              ...(exitCode !== undefined ? { exitCode } : {}),
              ...(error !== undefined ? { error } : {}),
            }),
          });
          enqueue.emit({
            type: 'step.finished',
            stepId: params.stepId,
            status,
            ...(exitCode !== undefined ? { exitCode } : {}),
            ...(error !== undefined ? { error } : {}),
            durationMs: at - (record.startedAt ?? at),
            at,
          });
          if (params.outcome === 'cancel') {
            enqueue.emit({ type: 'decision', stepId: params.stepId, action: 'cancel', by: actorOf(event), at });
          }
        },
      ),
      interruptStep: enqueueActions(({ context, enqueue }, params: { stepId: string }) => {
        const record = context.steps[params.stepId]!;
        const at = Date.now();
        const step = stepOf(params.stepId);
        const error =
          step.kind === 'reboot'
            ? `nightshift stopped while attempt ${record.attempts} rebooted ${step.host}. ` +
              'Retry waits for it to come back and verifies it; done (with a reason) verifies it now; ' +
              'a reboot that was issued is not issued again'
            : `nightshift stopped while attempt ${record.attempts} ran; it may or may not have finished. ` +
              'Look on the machine, then re-run it (retry), mark it done with a reason, or fall back';
        enqueue.assign({
          current: params.stepId,
          steps: updateStep(context, params.stepId, { status: 'failed', endedAt: at, error, interrupted: true }),
        });
        enqueue.emit({ type: 'step.finished', stepId: params.stepId, status: 'failed', error, durationMs: at - (record.startedAt ?? at), at });
      }),
      holdStep: enqueueActions(({ context, enqueue }, params: { stepId: string }) => {
        enqueue.assign({ current: params.stepId, steps: updateStep(context, params.stepId, { status: 'waiting' }) });
        enqueue.emit({ type: 'step.held', stepId: params.stepId, why: handsOf(context).why, at: Date.now() });
      }),
      releaseStep: enqueueActions(({ enqueue }, params: { stepId: string }) => {
        enqueue.emit({ type: 'step.released', stepId: params.stepId, at: Date.now() });
      }),
      overrideHold: enqueueActions(({ event, enqueue }, params: { stepId: string }) => {
        const reason = event.type === 'OVERRIDE_HOLD' ? event.reason.trim() : '';
        enqueue.emit({ type: 'decision', stepId: params.stepId, action: 'override', by: actorOf(event), reason, at: Date.now() });
      }),
      recordCheck: enqueueActions(({ event, enqueue }, params: { stepId: string }) => {
        const output = (event as unknown as { output?: CommandResult }).output;
        const cause = (event as unknown as { error?: unknown }).error;
        enqueue.emit({
          type: 'step.checked',
          stepId: params.stepId,
          exitCode: output?.exitCode ?? null,
          ...(cause !== undefined ? { error: cause instanceof Error ? cause.message : String(cause) } : {}),
          at: Date.now(),
        });
      }),
      askSite: enqueueActions(({ context, event, enqueue }, params: { stepId: string }) => {
        if (event.type !== 'ASK_SITE') return;
        const request = event.request.trim();
        enqueue.assign({ current: params.stepId, steps: updateStep(context, params.stepId, { status: 'waiting', asked: request }) });
        enqueue.emit({ type: 'decision', stepId: params.stepId, action: 'ask-site', by: actorOf(event), reason: request, at: Date.now() });
      }),
      settleAsk: enqueueActions(({ context, enqueue }, params: { stepId: string }) => {
        enqueue.assign({ steps: updateStep(context, params.stepId, { asked: undefined }) });
      }),
      markDone: enqueueActions(({ context, event, enqueue }, params: { stepId: string }) => {
        const at = Date.now();
        const reason = event.type === 'MARK_DONE' ? event.reason.trim() : undefined;
        enqueue.assign({ current: null, steps: updateStep(context, params.stepId, { status: 'done', error: undefined, endedAt: at }) });
        enqueue.emit({ type: 'decision', stepId: params.stepId, action: 'mark-done', by: actorOf(event), ...(reason ? { reason } : {}), at });
      }),
      /** A reboot said to be done is verified before it counts: the decision now, the verdict when its check ends. */
      decideMarkDone: enqueueActions(({ context, event, enqueue }, params: { stepId: string }) => {
        const reason = event.type === 'MARK_DONE' ? event.reason.trim() : undefined;
        enqueue.assign({ steps: updateStep(context, params.stepId, { followsDecision: true }) });
        enqueue.emit({ type: 'decision', stepId: params.stepId, action: 'mark-done', by: actorOf(event), ...(reason ? { reason } : {}), at: Date.now() });
      }),
      passNote: enqueueActions(({ context, enqueue }, params: { stepId: string }) => {
        const at = Date.now();
        enqueue.assign({ steps: updateStep(context, params.stepId, { status: 'done', attempts: 1, startedAt: at, endedAt: at }) });
        enqueue.emit({ type: 'step.started', stepId: params.stepId, attempt: 1, at });
        enqueue.emit({ type: 'step.finished', stepId: params.stepId, status: 'done', durationMs: 0, at });
      }),
      recordConfirmation: enqueueActions(({ context, event, enqueue }, params: { stepId: string }) => {
        if (event.type !== 'CONFIRM') return;
        const at = Date.now();
        const relayed = event.by.role !== event.role;
        const record = context.steps[params.stepId]!;
        enqueue.assign({
          steps: updateStep(context, params.stepId, {
            confirmations: [...record.confirmations, { role: event.role, by: event.by, at, relayed }],
          }),
        });
        enqueue.emit({ type: 'step.confirmed', stepId: params.stepId, role: event.role, by: event.by, relayed, at });
      }),
      completeCheckpoint: enqueueActions(({ context, enqueue }, params: { stepId: string }) => {
        const at = Date.now();
        const record = context.steps[params.stepId]!;
        enqueue.assign({ current: null, steps: updateStep(context, params.stepId, { status: 'done', endedAt: at }) });
        enqueue.emit({
          type: 'step.finished',
          stepId: params.stepId,
          status: 'done',
          durationMs: at - (record.startedAt ?? at),
          at,
        });
      }),
      refuse: enqueueActions(({ context, event, enqueue }, params: { stepId: string }) => {
        let reason: string;
        if (event.type === 'CONFIRM') reason = confirmationProblem(context, params.stepId, event) ?? 'not accepted';
        else if (event.type === 'APPROVE') {
          const step = stepOf(params.stepId);
          reason =
            event.stepId !== params.stepId
              ? `that approval is for step ${event.stepId}, but ${params.stepId} is waiting`
              : `the typed text does not match "${'confirmText' in step ? step.confirmText : ''}"`;
        } else if (event.type === 'SKIP') reason = 'skipping needs a reason';
        else if (event.type === 'REATTACH' || event.type === 'STOP_ATTEMPT') {
          const step = stepOf(params.stepId);
          reason = !runsDetached(step)
            ? 'only a detached run step can have an attempt that may still be running'
            : context.steps[params.stepId]?.mayStillRun === undefined
              ? 'no attempt of this step may still be running: it ended with its exit status read'
              : 'a step with revert_after is not followed again (its revert timer decides): stop it, or retry once it has ended';
        }
        else if (event.type === 'ASK_SITE') {
          reason =
            stepOf(params.stepId).kind !== 'reboot'
              ? 'only a reboot that did not come back can be put to the site'
              : event.by.role !== 'upgrader'
                ? 'only the upgrader asks the site'
                : 'say what the sentinel should do';
        }
        else if (event.type === 'OVERRIDE_HOLD') {
          reason =
            event.stepId !== params.stepId
              ? `that override is for step ${event.stepId}, but ${params.stepId} is held`
              : event.by.role !== 'upgrader'
                ? 'only the upgrader can go on without hands on site'
                : 'going on without hands on site needs a reason';
        } else reason = `${event.type.toLowerCase()} is not possible now`;
        enqueue.emit({ type: 'step.refused', stepId: params.stepId, action: event.type as HumanAction, by: actorOf(event), reason, at: Date.now() });
      }),
      approve: enqueueActions(({ event, enqueue }, params: { stepId: string }) => {
        enqueue.emit({ type: 'step.approved', stepId: params.stepId, by: actorOf(event), at: Date.now() });
      }),
      decide: enqueueActions(
        ({ context, event, enqueue }, params: { stepId: string; action: 'retry' | 'skip' | 'continue' }) => {
          const at = Date.now();
          const reason = event.type === 'SKIP' ? event.reason.trim() : undefined;
          if (params.action === 'skip') {
            enqueue.assign({
              current: null,
              steps: updateStep(context, params.stepId, { status: 'skipped', skipReason: reason ?? '' }),
            });
            enqueue.emit({ type: 'step.skipped', stepId: params.stepId, by: actorOf(event), reason: reason ?? '', at });
          }
          if (params.action === 'continue') enqueue.assign({ current: null });
          if (params.action === 'retry') enqueue.assign({ steps: updateStep(context, params.stepId, { followsDecision: true, mayStillRun: undefined }) });
          enqueue.emit({
            type: 'decision',
            stepId: params.stepId,
            action: params.action,
            by: params.action === 'continue' ? NIGHTSHIFT : actorOf(event),
            ...(params.action === 'continue' ? { reason: 'on_fail: continue' } : reason ? { reason } : {}),
            at,
          });
        },
      ),
      reattach: enqueueActions(({ context, event, enqueue }, params: { stepId: string }) => {
        const attempt = context.steps[params.stepId]!.mayStillRun;
        enqueue.assign({ steps: updateStep(context, params.stepId, { followsDecision: true }) });
        enqueue.emit({ type: 'decision', stepId: params.stepId, action: 'reattach', by: actorOf(event), ...(attempt ? { attempt } : {}), at: Date.now() });
      }),
      followAttempt: enqueueActions(({ context, enqueue }, params: { stepId: string }) => {
        enqueue.assign({
          current: params.stepId,
          steps: updateStep(context, params.stepId, { status: 'running', mayStillRun: undefined, exitCode: undefined, error: undefined }),
        });
      }),
      decideStop: enqueueActions(({ context, event, enqueue }, params: { stepId: string }) => {
        const attempt = context.steps[params.stepId]!.mayStillRun;
        enqueue.emit({ type: 'decision', stepId: params.stepId, action: 'stop', by: actorOf(event), ...(attempt ? { attempt } : {}), at: Date.now() });
      }),
      recordAttemptState: enqueueActions(({ context, event, enqueue }, params: { stepId: string }) => {
        const record = context.steps[params.stepId]!;
        const attempt = record.mayStillRun ?? record.attempts;
        const output = (event as unknown as { output?: AttemptState }).output;
        const cause = (event as unknown as { error?: unknown }).error;
        const at = Date.now();
        if (output === undefined) {
          const error = cause instanceof Error ? cause.message : String(cause);
          enqueue.emit({ type: 'attempt.checked', stepId: params.stepId, attempt, state: 'unreachable', error, at });
          return;
        }
        enqueue.emit({
          type: 'attempt.checked',
          stepId: params.stepId,
          attempt,
          state: output.state,
          ...(output.state === 'running' ? { pid: output.pid } : {}),
          ...(output.state === 'ended' ? { exitCode: output.exitCode } : {}),
          ...(output.state === 'unknown' ? { error: output.why } : {}),
          at,
        });
      }),
      refuseAttempt: enqueueActions(({ context, event, enqueue }, params: { stepId: string; action: 'retry' | 'stop' }) => {
        const step = stepOf(params.stepId) as RunStep;
        const attempt = context.steps[params.stepId]!.mayStillRun ?? context.steps[params.stepId]!.attempts;
        const output = (event as unknown as { output?: AttemptState }).output;
        const cause = (event as unknown as { error?: unknown }).error;
        const found = output ?? { unreachable: cause instanceof Error ? cause.message : String(cause) };
        const reason = params.action === 'retry' ? retryRefusal(step, attempt, found) : stopRefusal(step, attempt, found);
        enqueue.emit({ type: 'step.refused', stepId: params.stepId, action: params.action === 'retry' ? 'RETRY' : 'STOP_ATTEMPT', by: NIGHTSHIFT, reason, at: Date.now() });
      }),
      settleStoppedAttempt: enqueueActions(({ context, event, enqueue }, params: { stepId: string }) => {
        const record = context.steps[params.stepId]!;
        const output = (event as unknown as { output: AttemptState }).output;
        const error = `${record.error ?? 'failed'}; then attempt ${record.mayStillRun ?? record.attempts} was stopped: it ${describeAttemptState(output)}`;
        enqueue.assign({ steps: updateStep(context, params.stepId, { mayStillRun: undefined, error }) });
      }),
      requestFallback: enqueueActions(({ context, event, enqueue }, params: { stepId?: string } | undefined) => {
        const automatic = params?.stepId !== undefined;
        const by = automatic ? NIGHTSHIFT : actorOf(event);
        const fromStepId = params?.stepId ?? context.current;
        const reason = automatic
          ? `step ${stepOf(params.stepId!).number} failed and says on_fail: fallback`
          : event.type === 'FALLBACK'
            ? event.reason.trim()
            : 'fallback';
        enqueue.assign({ fallback: { by, reason, fromStepId } });
        enqueue.emit({ type: 'decision', stepId: fromStepId, action: 'fallback', by, reason, at: Date.now() });
      }),
      enterFallback: enqueueActions(({ context, enqueue }) => {
        enqueue.assign({ track: 'fallback', current: null });
        const request = context.fallback ?? { by: NIGHTSHIFT, reason: 'fallback', fromStepId: null };
        enqueue.emit({ type: 'fallback.started', ...request, at: Date.now() });
      }),
      setHands: enqueueActions(({ event, enqueue }) => {
        if (event.type === 'HANDS') enqueue.assign({ hands: { available: event.available, why: event.why } });
      }),
      pause: enqueueActions(({ context, event, enqueue }) => {
        enqueue.emit({ type: 'decision', stepId: context.current, action: 'pause', by: actorOf(event), at: Date.now() });
      }),
      finishRun: enqueueActions(({ enqueue }, params: { outcome: 'completed' | 'fell-back' | 'paused' }) => {
        enqueue.emit({ type: 'run.finished', outcome: params.outcome, at: Date.now() });
      }),
    },
  });

  type StateConfig = Parameters<typeof machineSetup.createStateConfig>[0];

  const trackStates = (track: 'main' | 'fallback', steps: Step[]) => {
    const states: Record<string, StateConfig> = {};
    steps.forEach((step, index) => {
      const following = steps[index + 1];
      const next = `#${MACHINE_ID}.${track}.${following ? following.id : FINAL}`;
      states[step.id] = stepState(step, next, track);
    });
    states[FINAL] = { type: 'final' };
    return { initial: steps[0]?.id ?? FINAL, states };
  };

  /**
   * A `needs: hands` step starts at a transient gate: on to `target` (what the step does)
   * when someone is on site, else `held` until they are (HANDS) or the upgrader goes on
   * without them (OVERRIDE_HOLD, with a reason). FALLBACK and PAUSE work as anywhere.
   */
  const handsGate = (stepId: string, target: string): Record<string, StateConfig> => {
    const params = { stepId };
    return {
      gate: { always: [{ guard: 'handsAvailable', target }, { target: 'held' }] },
      held: {
        entry: [{ type: 'holdStep', params }],
        always: { guard: 'handsAvailable', target, actions: [{ type: 'releaseStep', params }] },
        on: {
          OVERRIDE_HOLD: [
            { guard: { type: 'canOverrideHold', params }, target, actions: [{ type: 'overrideHold', params }] },
            { actions: [{ type: 'refuse', params }] },
          ],
        },
      },
    };
  };

  const stepState = (step: Step, next: string, track: 'main' | 'fallback'): StateConfig => {
    const stepId = step.id;
    const params = { stepId };
    if (step.kind === 'note') {
      const pass: StateConfig = { entry: [{ type: 'passNote', params }], always: { target: next } };
      return step.needsHands ? { initial: 'gate', states: { ...handsGate(stepId, 'pass'), pass } } : pass;
    }
    const needsApproval = step.kind !== 'checkpoint' && 'confirmText' in step && step.confirmText !== undefined;
    const gate = step.needsHands ? handsGate(stepId, needsApproval ? 'approval' : 'working') : {};
    const failTarget =
      step.onFail === 'continue' ? next : step.onFail === 'fallback' && track === 'main' ? `#${MACHINE_ID}.fallback` : 'failed';
    type Outcome = 'exit' | 'error' | 'timeout' | 'cancel';
    const failActions = (outcome: Outcome) => [
      { type: 'finishStep' as const, params: { stepId, outcome } },
      ...(step.onFail === 'continue' ? [{ type: 'decide' as const, params: { stepId, action: 'continue' as const } }] : []),
      ...(failTarget === `#${MACHINE_ID}.fallback` ? [{ type: 'requestFallback' as const, params: { stepId } }] : []),
    ];
    /**
     * Where a failure goes: on_fail's way, unless the attempt may still run on its host or
     * the upgrader asked for it (a retry, a reattach): then it comes back to them.
     * `guard` is the transition's own condition, if any.
     */
    const failing = (outcome: Outcome, guard?: { type: 'isStep' | 'isAttempt'; params: { stepId: string } }) => {
      const own = guard ? [guard] : [];
      const otherwise = { ...(guard ? { guard } : {}), target: failTarget, actions: failActions(outcome) };
      if (failTarget === 'failed') return [otherwise];
      const asks = { type: 'failureAsksUpgrader' as const, params };
      return [
        { guard: and([...own, asks]), target: 'failed', actions: [{ type: 'finishStep' as const, params: { stepId, outcome } }] },
        otherwise,
      ];
    };
    const detached = runsDetached(step);
    // A step with revert_after is not followed again: its revert timer, armed for that attempt, decides.
    const followsAgain = detached && step.revert === undefined;
    // What the upgrader decides about a failed step, also while the site is asked about it.
    // A detached attempt that may still run is asked about on its host before a new one starts.
    const retryOrSkip = {
      RETRY: [
        ...(detached ? [{ guard: { type: 'attemptMayRun' as const, params }, target: 'checkingAttempt' }] : []),
        { guard: { type: 'isStep' as const, params }, target: 'working', actions: [{ type: 'decide' as const, params: { stepId, action: 'retry' as const } }] },
        { actions: [{ type: 'refuse' as const, params }] },
      ],
      SKIP: [
        { guard: { type: 'skipHasReason' as const, params }, target: next, actions: [{ type: 'decide' as const, params: { stepId, action: 'skip' as const } }] },
        { actions: [{ type: 'refuse' as const, params }] },
      ],
    };
    const failed: StateConfig = {
      entry: [{ type: 'awaitHumans', params: { stepId, for: 'decision' } }],
      on: {
        ...retryOrSkip,
        MARK_DONE: [
          step.kind === 'reboot'
            ? { guard: { type: 'canMarkDone' as const, params }, target: 'following', actions: [{ type: 'decideMarkDone' as const, params }] }
            : { guard: { type: 'canMarkDone' as const, params }, target: next, actions: [{ type: 'markDone' as const, params }] },
          { actions: [{ type: 'refuse', params }] },
        ],
        ASK_SITE: [
          ...(step.kind === 'reboot' ? [{ guard: { type: 'canAskSite' as const, params }, target: 'asking', actions: [{ type: 'askSite' as const, params }] }] : []),
          { actions: [{ type: 'refuse', params }] },
        ],
        REATTACH: [
          ...(followsAgain ? [{ guard: { type: 'attemptMayRun' as const, params }, target: 'following', actions: [{ type: 'reattach' as const, params }] }] : []),
          { actions: [{ type: 'refuse', params }] },
        ],
        STOP_ATTEMPT: [
          ...(detached ? [{ guard: { type: 'attemptMayRun' as const, params }, target: 'stoppingAttempt', actions: [{ type: 'decideStop' as const, params }] }] : []),
          { actions: [{ type: 'refuse', params }] },
        ],
      },
    };
    // The attempt that may still run, looked at on its host: a retry goes on once it has
    // ended (or never started), else the upgrader is told why not; a stop ends it.
    const attemptInput = ({ context }: { context: EngineContext }) => ({
      step: step as RunStep,
      attempt: context.steps[stepId]!.mayStillRun ?? context.steps[stepId]!.attempts,
    });
    const checkingAttempt: StateConfig = {
      invoke: {
        src: 'checkAttempt',
        input: attemptInput,
        onDone: [
          {
            guard: 'attemptEnded',
            target: 'working',
            actions: [{ type: 'recordAttemptState', params }, { type: 'decide', params: { stepId, action: 'retry' } }],
          },
          { target: 'failed', actions: [{ type: 'recordAttemptState', params }, { type: 'refuseAttempt', params: { stepId, action: 'retry' } }] },
        ],
        onError: { target: 'failed', actions: [{ type: 'recordAttemptState', params }, { type: 'refuseAttempt', params: { stepId, action: 'retry' } }] },
      },
    };
    const stoppingAttempt: StateConfig = {
      invoke: {
        src: 'stopAttempt',
        input: attemptInput,
        onDone: [
          { guard: 'attemptEnded', target: 'failed', actions: [{ type: 'recordAttemptState', params }, { type: 'settleStoppedAttempt', params }] },
          { target: 'failed', actions: [{ type: 'recordAttemptState', params }, { type: 'refuseAttempt', params: { stepId, action: 'stop' } }] },
        ],
        onError: { target: 'failed', actions: [{ type: 'recordAttemptState', params }, { type: 'refuseAttempt', params: { stepId, action: 'stop' } }] },
      },
    };
    // A reboot that did not come back, put to the sentinel: their answer (or the upgrader's
    // relay of it) goes back to waiting for the host; the upgrader may stop waiting for them.
    const asking: StateConfig = {
      entry: [{ type: 'awaitHumans', params: { stepId, for: 'confirmation' } }],
      exit: [{ type: 'settleAsk', params }],
      on: {
        CONFIRM: [
          { guard: { type: 'confirmationCounts', params }, target: 'working', actions: [{ type: 'recordConfirmation', params }] },
          { actions: [{ type: 'refuse', params }] },
        ],
        ...retryOrSkip,
      },
    };
    // A step in flight when nightshift stopped is restored here (never straight into
    // 'working': that would run it again blindly), then RESUME checks it or asks.
    const check = (step.kind === 'run' || step.kind === 'local') && step.check !== undefined ? step : undefined;
    const interrupted: StateConfig = {
      on: {
        RESUME: check ? { target: 'checking' } : { target: 'failed', actions: [{ type: 'interruptStep', params }] },
      },
    };
    const checking: StateConfig | undefined = check && {
      invoke: {
        src: 'runCheck',
        input: { step: check },
        onDone: [
          {
            guard: 'exitedZero',
            target: next,
            actions: [{ type: 'recordCheck', params }, { type: 'finishStep', params: { stepId, outcome: 'done' } }],
          },
          { target: 'failed', actions: [{ type: 'recordCheck', params }, { type: 'interruptStep', params }] },
        ],
        onError: { target: 'failed', actions: [{ type: 'recordCheck', params }, { type: 'interruptStep', params }] },
      },
    };
    const resumeStates = { interrupted, ...(checking ? { checking } : {}) };
    const timeout = step.timeoutMs !== undefined ? { [step.timeoutMs]: failing('timeout') } : {};

    if (step.kind === 'checkpoint') {
      return {
        initial: step.needsHands ? 'gate' : 'working',
        states: {
          ...gate,
          working: {
            entry: [
              { type: 'startStep', params },
              { type: 'awaitHumans', params: { stepId, for: 'confirmation' } },
            ],
            after: timeout,
            on: {
              CONFIRM: [
                {
                  guard: { type: 'confirmationCompletes', params },
                  target: next,
                  actions: [{ type: 'recordConfirmation', params }, { type: 'completeCheckpoint', params }],
                },
                { guard: { type: 'confirmationCounts', params }, actions: [{ type: 'recordConfirmation', params }] },
                { actions: [{ type: 'refuse', params }] },
              ],
            },
          },
          failed,
        },
      };
    }

    // Commands finish with an exit status; the other effects either succeed or throw.
    const finishesWhenDone = (src: 'waitUntil' | 'upload' | 'reboot' | 'preflight', input: { step: Step }) =>
      ({
        src,
        input,
        onDone: { target: next, actions: [{ type: 'finishStep' as const, params: { stepId, outcome: 'done' as const } }] },
        onError: failing('error'),
      }) as NonNullable<StateConfig['invoke']>;
    const command = (follow: boolean) =>
      ({
        src: step.kind === 'run' ? 'runRemote' : 'runLocal',
        input: follow ? { step, follow } : { step },
        onDone: [{ guard: 'exitedZero', target: next, actions: [{ type: 'finishStep', params: { stepId, outcome: 'done' } }] }, ...failing('exit')],
        onError: failing('error'),
      }) as NonNullable<StateConfig['invoke']>;
    const bounded = {
      after: timeout,
      on: {
        CANCEL: failing('cancel', { type: 'isStep', params }),
        TIMEOUT: failing('timeout', { type: 'isAttempt', params }),
      },
    };
    const working: StateConfig = {
      entry: [{ type: 'startStep', params }],
      invoke:
        step.kind === 'run' || step.kind === 'local'
          ? command(false)
          : step.kind === 'wait'
            ? finishesWhenDone('waitUntil', { step })
            : finishesWhenDone(step.kind, { step }),
      ...bounded,
    };
    // The same attempt followed again: a command reattached, or a reboot said to be done
    // (waited for and verified). Nothing is started or issued on the host.
    const following: StateConfig = {
      entry: [{ type: 'followAttempt', params }],
      invoke: step.kind === 'reboot' ? finishesWhenDone('reboot', { step, follow: true } as { step: Step }) : command(true),
      ...bounded,
    };
    const approval: StateConfig = {
      entry: [{ type: 'awaitHumans', params: { stepId, for: 'approval' } }],
      on: {
        APPROVE: [
          { guard: { type: 'approvalMatches', params }, target: 'working', actions: [{ type: 'approve', params }] },
          { actions: [{ type: 'refuse', params }] },
        ],
      },
    };
    return {
      initial: step.needsHands ? 'gate' : needsApproval ? 'approval' : 'working',
      states: {
        ...gate,
        ...(needsApproval ? { approval } : {}),
        working,
        failed,
        ...(step.kind === 'reboot' ? { asking } : {}),
        ...(detached ? { following, checkingAttempt, stoppingAttempt } : {}),
        ...(step.kind === 'reboot' ? { following } : {}),
        ...resumeStates,
      },
    };
  };

  const initialSteps = (): Record<string, StepRecord> =>
    Object.fromEntries([...stepsById.keys()].map((id) => [id, { status: 'pending', attempts: 0, confirmations: [] }]));

  return machineSetup.createMachine({
    id: MACHINE_ID,
    context: { steps: initialSteps(), track: 'main', current: null, hands: NO_HANDS },
    initial: 'main',
    states: {
      main: { ...trackStates('main', runbook.phases.flatMap((phase) => phase.steps)), onDone: 'completed' },
      fallback: {
        entry: [{ type: 'enterFallback' }],
        ...trackStates('fallback', runbook.fallback),
        onDone: 'fellBack',
      },
      completed: { type: 'final', entry: [{ type: 'finishRun', params: { outcome: 'completed' } }] },
      fellBack: { type: 'final', entry: [{ type: 'finishRun', params: { outcome: 'fell-back' } }] },
      paused: { type: 'final', entry: [{ type: 'finishRun', params: { outcome: 'paused' } }] },
    },
    on: {
      FALLBACK: { guard: 'canFallBack', target: `.fallback`, actions: [{ type: 'requestFallback', params: undefined }] },
      PAUSE: { guard: 'canPause', target: '.paused', actions: [{ type: 'pause' }] },
      HANDS: { actions: [{ type: 'setHands' }] },
    },
  });
}

function actorOf(event: EngineEvent | { type: string }): Actor {
  return 'by' in event && event.by ? (event.by as Actor) : NIGHTSHIFT;
}

export type RunbookMachine = ReturnType<typeof compileRunbook>;
export type RunbookActor = ActorRefFrom<RunbookMachine>;
export type RunbookSnapshot = SnapshotFrom<RunbookMachine>;
