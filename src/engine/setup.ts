// The machine's vocabulary: its context and events, the effects it invokes (provided by
// the composition root), its guards and actions, and the tags its states carry.
import { fromPromise, setup } from 'xstate';
import type { LocalStep, PreflightStep, RebootStep, RunStep, Step, UploadStep, WaitStep } from '../runbook/types.js';
import { engineActions, type CommandResult } from './actions.js';
import type { EngineContext } from './context.js';
import type { EngineEmitted, EngineEvent } from './events.js';
import { engineGuards } from './guards.js';
import type { Place, RuleBook } from './rules.js';
import type { AttemptState } from './unsettled-attempt.js';

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
    },
    guards: engineGuards(book),
    actions: engineActions(book),
  });
}

export type EngineSetup = ReturnType<typeof engineSetup>;
export type StateConfig = Parameters<EngineSetup['createStateConfig']>[0];
