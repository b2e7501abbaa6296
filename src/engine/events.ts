import type { Role } from '../runbook/types.js';
import type { AttemptState } from './unsettled-attempt.js';

/**
 * Who did something: a role and a name ("upgrader", "alice"). `nightshift` for the program
 * itself; `observer` for a read-only helper, who may watch but never confirm or decide.
 */
export interface Actor {
  role: Role | 'observer' | 'nightshift';
  name: string;
}

/** Events the humans (through a front-end) send to the engine. Each names its step, so a stale prompt cannot act on another one. */
export type EngineEvent =
  | { type: 'CONFIRM'; stepId: string; role: Role; by: Actor; value?: string }
  | { type: 'APPROVE'; stepId: string; by: Actor; value: string }
  | { type: 'RETRY'; stepId: string; by: Actor }
  /** For a detached attempt that may still run on its host: follow it again, the same attempt, its output going on. */
  | { type: 'REATTACH'; stepId: string; by: Actor }
  /** For a detached attempt that may still run on its host: TERM its process group, then read how it ended. */
  | { type: 'STOP_ATTEMPT'; stepId: string; by: Actor }
  | { type: 'SKIP'; stepId: string; by: Actor; reason: string }
  | { type: 'CANCEL'; stepId: string; by: Actor }
  | { type: 'FALLBACK'; by: Actor; reason: string }
  | { type: 'PAUSE'; by: Actor }
  /** After a resume: a step that was in flight when nightshift stopped is checked or put to the upgrader. */
  | { type: 'RESUME'; by: Actor }
  /** For an interrupted step: it did finish (the upgrader looked), so it is not run again. */
  | { type: 'MARK_DONE'; stepId: string; by: Actor; reason: string }
  /** A step's time limit, re-armed by the runner for an attempt restored while running (XState does not keep delays). */
  | { type: 'TIMEOUT'; stepId: string; attempt: number }
  /** Whether a sentinel is on site and not away; sent by the runner whenever presence changes. */
  | { type: 'HANDS'; available: boolean; why: string }
  /** For a step held for hands on site: go on without them. The reason is journaled. */
  | { type: 'OVERRIDE_HOLD'; stepId: string; by: Actor; reason: string }
  /**
   * For a reboot step past its bound: ask the sentinel to look at the machine (`request`
   * says what). Their /ok (or the upgrader relaying it) goes back to waiting for the host.
   */
  | { type: 'ASK_SITE'; stepId: string; by: Actor; request: string }
  /** A `for_each` phase: leave this host as it is and go on with the others (it counts as failed). */
  | { type: 'SKIP_HOST'; phase: string; host: string; by: Actor; reason: string }
  /** A `for_each` phase: run this host's instance of the phase's fallback (it counts as failed). */
  | { type: 'FALLBACK_HOST'; phase: string; host: string; by: Actor; reason: string }
  /**
   * A `for_each` phase: start no more batches. With `host`, that failed host is left as it
   * is; the batch's other hosts finish, then the rollout rests at its halt checkpoint.
   */
  | { type: 'STOP_ROLLOUT'; phase: string; host?: string; by: Actor; reason: string };

/** The events a person sends through a front-end; the engine answers each one it does not take with `step.refused`. */
export type HumanEvent = Exclude<EngineEvent, { type: 'TIMEOUT' | 'HANDS' }>;
export type HumanAction = HumanEvent['type'];

/** Every action a person can send, in the order HumanEvent declares them: what the rules, the journal's schema and their tests list. */
export const HUMAN_ACTIONS = [
  'CONFIRM',
  'APPROVE',
  'RETRY',
  'REATTACH',
  'STOP_ATTEMPT',
  'SKIP',
  'CANCEL',
  'FALLBACK',
  'PAUSE',
  'RESUME',
  'MARK_DONE',
  'OVERRIDE_HOLD',
  'ASK_SITE',
  'SKIP_HOST',
  'FALLBACK_HOST',
  'STOP_ROLLOUT',
] as const satisfies readonly HumanAction[];
// An action added to HumanEvent but not to the list above stops the build here.
true satisfies HumanAction extends (typeof HUMAN_ACTIONS)[number] ? true : false;

/** What a person types for an action after choosing it: a reason, a request to the site, an approval's text. */
type Typed = 'reason' | 'request' | 'value';

/**
 * An action asked about before it is sent (to offer a key, or before its reason is typed):
 * what is typed (a reason, a request, an approval's text) may be left out, and then only
 * whether the action itself is open is answered.
 */
export type ActionQuery = HumanEvent extends infer E
  ? E extends HumanEvent
    ? Omit<E, Extract<keyof E, Typed>> & { [K in Extract<keyof E, Typed>]?: E[K] }
    : never
  : never;

export type StepStatus = 'pending' | 'waiting' | 'running' | 'done' | 'failed' | 'skipped';

export interface Confirmation {
  role: Role;
  by: Actor;
  at: number;
  /** Set when the upgrader recorded a confirmation the other role gave by other means (phone, chat). */
  relayed: boolean;
}

export interface StepRecord {
  status: StepStatus;
  attempts: number;
  startedAt?: number;
  endedAt?: number;
  exitCode?: number | null;
  error?: string;
  skipReason?: string;
  confirmations: Confirmation[];
  /** The attempt was in flight when nightshift stopped: it may or may not have finished. */
  interrupted?: boolean;
  /** What the sentinel was asked to do for this failed step, while their answer is awaited. */
  asked?: string;
  /**
   * A detached attempt that failed without its exit status (its link lost, or stopped by a
   * time limit while the link was down): it may still run on its host. Its number.
   */
  mayStillRun?: number;
  /** The running attempt follows a decision of the upgrader (a retry, a reattach): if it fails, they are asked again, whatever on_fail says. */
  followsDecision?: boolean;
  /** Done by an earlier session this one goes again from (`run --from`, `again`): its id. */
  carriedFrom?: string;
  /** Found already done: its check, asked first (`skip_done`, going again), passed, so it did not run. */
  foundDone?: boolean;
}

export type DecisionAction =
  | 'retry'
  | 'skip'
  | 'fallback'
  | 'pause'
  | 'continue'
  | 'cancel'
  | 'mark-done'
  | 'override'
  | 'ask-site'
  | 'reattach'
  | 'stop'
  | 'skip-host'
  | 'fallback-host'
  | 'stop-rollout';

/** Where a host of a `for_each` phase stands. The last four are ends; failed, fell-back and skipped count against max_fail. */
export type HostOutcome = 'queued' | 'running' | 'done' | 'failed' | 'fell-back' | 'skipped';

/** Ends of a host that count against a rollout's max_fail. */
export const FAILED_HOST_OUTCOMES: readonly HostOutcome[] = ['failed', 'fell-back', 'skipped'];

export type Outcome = 'completed' | 'fell-back' | 'paused';

/** What the engine tells the world; the journal records these and plain mode prints them. */
export type EngineEmitted =
  | { type: 'step.started'; stepId: string; attempt: number; at: number }
  | { type: 'step.waiting'; stepId: string; for: 'approval' | 'confirmation' | 'decision'; roles: Role[]; at: number }
  | { type: 'step.approved'; stepId: string; by: Actor; at: number }
  | { type: 'step.confirmed'; stepId: string; role: Role; by: Actor; relayed: boolean; at: number }
  /** A person's action the engine did not take, and why; `stepId` null for an action on the whole run (fallback, pause). */
  | { type: 'step.refused'; stepId: string | null; action: HumanAction; by: Actor; reason: string; at: number }
  /** A `needs: hands` step is held: no sentinel is on site, or the sentinel is away (`why`). */
  | { type: 'step.held'; stepId: string; why: string; at: number }
  /** Hands came back on site; the held step goes on. (An override is a `decision` instead.) */
  | { type: 'step.released'; stepId: string; at: number }
  | { type: 'step.finished'; stepId: string; status: 'done' | 'failed'; exitCode?: number | null; error?: string; durationMs: number; at: number }
  | { type: 'step.skipped'; stepId: string; by: Actor; reason: string; at: number }
  | { type: 'step.checked'; stepId: string; exitCode: number | null; error?: string; at: number }
  /** `attempt`: the attempt a reattach follows or a stop ends. */
  | { type: 'decision'; stepId: string | null; action: DecisionAction; by: Actor; reason?: string; attempt?: number; host?: string; at: number }
  /**
   * What the run folder of an attempt that may still run said (before a retry, after a
   * stop), or `unreachable` with the error when its host could not be asked.
   */
  | {
      type: 'attempt.checked';
      stepId: string;
      attempt: number;
      state: AttemptState['state'] | 'unreachable';
      pid?: number;
      exitCode?: number | null;
      error?: string;
      at: number;
    }
  /** A step's `capture:` took a value from its output; later steps use it as {{name}}. */
  | { type: 'value.captured'; stepId: string; name: string; value: string; at: number }
  /** A step's check passed before it ran (`skip_done`, `--from`): done without running; `output` is what the check printed (cut). */
  | { type: 'step.found-done'; stepId: string; output: string; at: number }
  /** An edit step's change, worked out against the file on its host: the diff the upgrader approves, or nothing to change. */
  | { type: 'edit.prepared'; stepId: string; path: string; changed: boolean; diff: string; at: number }
  /** `scope`: the phase whose own fallback runs, or null for the runbook's. */
  | { type: 'fallback.started'; by: Actor; reason: string; fromStepId: string | null; scope?: string | null; at: number }
  | { type: 'run.finished'; outcome: Outcome; at: number }
  /** A batch of a `for_each` phase starts (`batch` counts from 1; the canary batch is 1). */
  | { type: 'batch.started'; phase: string; batch: number; hosts: string[]; canary: boolean; at: number }
  /** Every host of the batch ended: which are done, which failed (failed, fell back or skipped). */
  | { type: 'batch.finished'; phase: string; batch: number; done: string[]; failed: string[]; at: number }
  | { type: 'host.started'; phase: string; host: string; batch: number; at: number }
  /** A host of a `for_each` phase ended: done, failed (left as it is), fell back, or skipped; `reason` for the last three. */
  | { type: 'host.finished'; phase: string; host: string; outcome: Exclude<HostOutcome, 'queued' | 'running'>; reason?: string; at: number }
  /** The rollout stopped after a batch (more failed hosts than max_fail, or the upgrader's STOP_ROLLOUT) and waits at its halt checkpoint. */
  | { type: 'rollout.halted'; phase: string; batch: number; failed: string[]; maxFail: number; reason: string; at: number };

export const NIGHTSHIFT: Actor = { role: 'nightshift', name: 'nightshift' };
