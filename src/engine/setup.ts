// The machine's vocabulary: its context and events, the effects it invokes (provided by
// the composition root), its guards and actions, and the tags its states carry.
import { fromPromise, setup } from 'xstate';
import type { EditStep, GuardStep, LocalStep, PreflightStep, RebootStep, RunStep, Step, UndoStep, UploadStep, WaitStep } from '../runbook/types.js';
import { engineActions, type CommandResult } from './actions.js';
import type { EngineContext } from './context.js';
import type { EngineEmitted, EngineEvent } from './events.js';
import { engineGuards } from './guards.js';
import { fleetActions, fleetGuards } from './fleet-actions.js';
import type { Place, RuleBook } from './rules.js';
import type { AttemptState } from './unsettled-attempt.js';

export interface WhenDecision {
  holds: boolean;
  /** When it does not hold: the condition and what it found, e.g. "when: host.systemd (on dragon: false)". */
  reason: string;
}

export interface ProbeResult {
  exitCode: number | null;
  /** What the check printed, cut to a few KiB. */
  output: string;
}

export interface EditPlan {
  changed: boolean;
  /** Unified diff from the file as it is on the host to the file as the step makes it ('' when unchanged). */
  diff: string;
}

/** What a state says of itself beyond its tag: the step it belongs to (see rules.ts `positionOf`). */
export interface EngineMeta {
  stepId?: string;
  /** On the root: whether the upgrader may record a confirmation on behalf of another role. */
  relaysAllowed?: boolean;
}

const notProvided = <TOutput, TInput>(name: string) =>
  fromPromise<TOutput, TInput>(async () => {
    throw new Error(`the ${name} effect was not provided to the engine`);
  });

export function engineSetup(book: RuleBook) {
  return setup({
    types: {
      context: {} as EngineContext,
      events: {} as EngineEvent,
      emitted: {} as EngineEmitted,
      tags: {} as Place,
      meta: {} as EngineMeta,
    },
    actors: {
      /** `follow`: the step's last attempt is followed again (reattached), nothing is started. */
      runRemote: notProvided<CommandResult, { step: Step; follow?: boolean }>('remote command'),
      runLocal: notProvided<CommandResult, { step: Step }>('local command'),
      waitUntil: notProvided<void, { step: WaitStep }>('wait'),
      upload: notProvided<void, { step: UploadStep }>('upload'),
      /** `follow`: a reboot already issued is waited for and verified; it is never issued (again). */
      reboot: notProvided<void, { step: RebootStep; follow?: boolean }>('reboot'),
      preflight: notProvided<void, { step: PreflightStep }>('preflight'),
      runCheck: notProvided<CommandResult, { step: RunStep | LocalStep }>('check'),
      /** Reads what the run folder of a detached attempt says; throws when its host cannot be reached. */
      checkAttempt: notProvided<AttemptState, { step: RunStep; attempt: number }>('attempt check'),
      /** TERMs a detached attempt's process group and reads how it ended; throws when its host cannot be reached. */
      stopAttempt: notProvided<AttemptState, { step: RunStep; attempt: number }>('attempt stop'),
      /** Whether the step's `when:` conditions hold (gathering its hosts' facts once), and if not, which did not and why. */
      decideWhen: notProvided<WhenDecision, { step: Step; values: Record<string, string> }>('condition'),
      /** A step's check asked before it runs (`skip_done`, `--from`): its exit status and what it printed. */
      probeDone: notProvided<ProbeResult, { step: RunStep | LocalStep }>('already-done check'),
      /** Reads the file an edit step changes and works out the change: the unified diff, or nothing to change. */
      prepareEdit: notProvided<EditPlan, { step: EditStep; values: Record<string, string> }>('edit preparation'),
      /** Keeps the original as a backup on the host, then writes the changed file (refused if the file changed since it was prepared). */
      applyEdit: notProvided<void, { step: EditStep; values: Record<string, string> }>('edit'),
      /** Puts back the file an edit step changed, from its backup on the host. */
      /** `editedIn`: the session whose edit step kept the backup (an earlier one when the edit was carried over by going again). */
      undoEdit: notProvided<void, { step: UndoStep; editedIn?: string }>('undo'),
      /** Arms, commits or fires a guard on its hosts (runbook `guard:`). */
      guard: notProvided<void, { step: GuardStep }>('guard'),
    },
    guards: { ...engineGuards(book), ...fleetGuards(book.fleets) },
    actions: { ...engineActions(book), ...fleetActions(book.fleets) },
  });
}

export type EngineSetup = ReturnType<typeof engineSetup>;
export type StateConfig = Parameters<EngineSetup['createStateConfig']>[0];
