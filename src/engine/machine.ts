// Compiles a runbook into an XState machine: one state per step, grouped in the main track
// and the fallback track. The engine performs no effects itself: running commands and
// waiting for hosts are actors the composition root provides. Its vocabulary (guards,
// actions, effects) is in setup.ts, the states of a step in step-states.ts, and the rules
// of what a person may do in rules.ts.
import type { ActorRefFrom, SnapshotFrom } from 'xstate';
import type { Runbook } from '../runbook/types.js';
import { NO_HANDS } from './context.js';
import type { StepRecord } from './events.js';
import { STEP_ACTIONS, ruleBookOf } from './rules.js';
import { engineSetup } from './setup.js';
import { MACHINE_ID } from './step-plan.js';
import { trackStates } from './step-states.js';
import { allSteps } from '../runbook/types.js';
import { carriedRecords, firstStepOf } from './going-again.js';
import { fallbackScopesOf } from './fallback-scope.js';
import { fallbackRequests, phaseFallbackStates } from './fallback-states.js';
import { fleetFallbackStates, mainTrackStates } from './fleet-states.js';

export type { CommandResult } from './actions.js';
export { handsOf, NO_HANDS, type EngineContext, type Hands } from './context.js';
export { MACHINE_ID } from './step-plan.js';

export interface CompileOptions {
  /**
   * Whether the upgrader may record a confirmation on behalf of another role (told by
   * phone or chat). Journaled as relayed either way.
   */
  relaysAllowed?: boolean;
  /**
   * Going again (`run --from`, `again`): the run starts at this phase's first step; the
   * steps before it are done by `session` (null: by no session nightshift knows), and its
   * captured values carry over.
   */
  from?: { phase: string; session: string | null; values?: Record<string, string> };
  /** Every step with a `check:` asks it first and is marked done when it passes (as `skip_done` on each). Implied by `from`. */
  probeChecks?: boolean;
}

export function compileRunbook(runbook: Runbook, options: CompileOptions = {}) {
  const relaysAllowed = options.relaysAllowed ?? true;
  const machineSetup = engineSetup(ruleBookOf(runbook, relaysAllowed));
  const initialSteps = (): Record<string, StepRecord> => ({
    ...Object.fromEntries(allSteps(runbook).map((step) => [step.id, { status: 'pending', attempts: 0, confirmations: [] }])),
    ...(options.from ? carriedRecords(runbook, options.from) : {}),
  });
  const probeChecks = options.probeChecks === true || options.from !== undefined;
  const tracks = { fallbacks: fallbackScopesOf(runbook) };
  const mainTrack = mainTrackStates(runbook, { ...tracks, probeChecks });
  // A person's action on a step that no state took: refused where the run rests.
  const unanswered = Object.fromEntries(STEP_ACTIONS.map((action) => [action, { actions: [{ type: 'refuseWhereResting' as const }] }]));
  const onTheRun = { at: null };
  return machineSetup.createMachine({
    id: MACHINE_ID,
    meta: { relaysAllowed },
    context: {
      steps: initialSteps(),
      track: 'main',
      current: null,
      hands: NO_HANDS,
      ...(options.from ? { values: { ...options.from.values } } : {}),
    },
    initial: 'main',
    states: {
      main: {
        ...mainTrack,
        ...(options.from ? { initial: firstStepOf(runbook, options.from.phase) } : {}),
        onDone: 'completed',
      },
      fallback: { entry: [{ type: 'enterFallback', params: { scope: null } }], ...trackStates('fallback', runbook.fallback, tracks), onDone: 'fellBack' },
      ...phaseFallbackStates(runbook, tracks),
      ...fleetFallbackStates(runbook, tracks),
      completed: { type: 'final', entry: [{ type: 'finishRun', params: { outcome: 'completed' } }] },
      fellBack: { type: 'final', entry: [{ type: 'finishRun', params: { outcome: 'fell-back' } }] },
      paused: { type: 'final', entry: [{ type: 'finishRun', params: { outcome: 'paused' } }] },
    },
    on: {
      ...unanswered,
      FALLBACK: [...fallbackRequests(tracks.fallbacks), { actions: [{ type: 'refuse', params: onTheRun }] }],
      PAUSE: [
        { guard: { type: 'allows', params: onTheRun }, target: '.paused', actions: [{ type: 'pause' }] },
        { actions: [{ type: 'refuse', params: onTheRun }] },
      ],
      HANDS: { actions: [{ type: 'setHands' }] },
      // What no host region or rollout took: refused with the rules' reason.
      SKIP_HOST: { actions: [{ type: 'refuse', params: onTheRun }] },
      FALLBACK_HOST: { actions: [{ type: 'refuse', params: onTheRun }] },
      STOP_ROLLOUT: { actions: [{ type: 'refuse', params: onTheRun }] },
    },
  });
}

export type RunbookMachine = ReturnType<typeof compileRunbook>;
export type RunbookActor = ActorRefFrom<RunbookMachine>;
export type RunbookSnapshot = SnapshotFrom<RunbookMachine>;
