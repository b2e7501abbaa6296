// Going on with a saved session: the machine's persisted snapshot, prepared so that no
// step that was in flight runs again blindly. A detached command is followed again (it
// kept running on its host, or left its status there); an upload resumes and verifies, a
// wait probes again. Anything else in flight is restored as interrupted: its check runs
// first, or the upgrader decides (re-run, mark done, fall back). A step held for hands
// on site had nothing in flight and is restored held; one whose `when:` was being decided decides again.
import type { GuardEvent } from './guard.js';
import type { StateValue } from 'xstate';
import type { Runbook, Step } from '../runbook/types.js';
import { allSteps } from '../runbook/types.js';
import type { EngineEvent, StepRecord } from '../engine/events.js';
import { compileRunbook, NO_HANDS, type CompileOptions, type Hands, type RunbookSnapshot } from '../engine/machine.js';
import { positionsOf } from '../engine/rules.js';
import type { RebootsInFlight } from './reboot.js';

export interface RestoredMachine {
  /** XState's persisted snapshot, rewritten where a step was in flight. */
  machine: unknown;
  /** The step in focus when the machine was saved. */
  current: string | null;
  /** Attempts so far per step, so that new attempts number on. */
  attempts: Record<string, number>;
  /** Steps whose running attempt is followed again under the same attempt number. */
  reattach: string[];
  /** Steps whose last detached attempt may still run on its host (the upgrader may follow it again). */
  unsettled: string[];
  /** The step that was in flight, if any. */
  inFlight: string | null;
  /** Whether that step was restored as interrupted (RESUME decides what next). */
  interrupted: boolean;
  /** How far the logs of the steps followed again were saved (from the snapshot): they go on from there. */
  outputOffsets?: Record<string, { attempt: number; stdout: number; stderr: number }>;
  /** Lines each step's last closed attempt printed (from the journal), so the screen counts them all. */
  outputLines?: Record<string, number>;
  /** Reboots issued and not seen through (from the journal): waited for and verified, never issued again. */
  reboots?: RebootsInFlight;
  /** What the journal says of the guards so far: armed, extended, committed or fired, host by host. */
  guards?: GuardEvent[];
}

/** The line count of each step's last closed output, from the journal's `output.closed` entries. */
export function outputLinesOf(entries: Array<{ type: string; [field: string]: unknown }>): Record<string, number> {
  const lines: Record<string, number> = {};
  for (const entry of entries) {
    if (entry.type === 'output.closed' && typeof entry['stepId'] === 'string' && typeof entry['lines'] === 'number') {
      lines[entry['stepId']] = entry['lines'];
    }
  }
  return lines;
}

interface PersistedMachine {
  status: string;
  value: StateValue;
  context: { steps: Record<string, StepRecord>; track: 'main' | 'fallback'; current: string | null; hands?: Hands };
  children: Record<string, { src?: unknown }>;
  [key: string]: unknown;
}

export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

/** `compile`: how the session's machine was compiled (going again: every check asked first), so that its saved state is one this machine has. */
export function restoreMachine(saved: unknown, runbook: Runbook, compile: CompileOptions = {}): RestoredMachine {
  const machine = structuredClone(saved) as PersistedMachine;
  if (machine.status !== 'active') throw new RestoreError(`the saved machine is ${machine.status}, not active: there is nothing to resume.`);
  const steps = new Map(allSteps(runbook).map((step) => [step.id, step]));
  // Steps added to the runbook since (accepted by the upgrader) start as pending.
  for (const id of steps.keys()) machine.context.steps[id] ??= { status: 'pending', attempts: 0, confirmations: [] };
  // Who was on site is not carried over (an old context has no hands at all): the runner
  // tells the machine again (HANDS) once a sentinel is there for this run.
  machine.context.hands = { ...NO_HANDS };
  const current = machine.context.current;
  const attempts = Object.fromEntries(Object.entries(machine.context.steps).map(([id, record]) => [id, record.attempts]));
  const unsettled = Object.entries(machine.context.steps)
    .filter(([, record]) => record.mayStillRun !== undefined)
    .map(([id]) => id);
  const resting = { machine, current, attempts, reattach: [], unsettled, inFlight: null, interrupted: false };

  // Where the run rests, read from the tags of the state it was saved in, as this runbook has it:
  // one step, or one per host at work in a for_each phase's batch, each restored by the same rules.
  const positions = positionsOf(savedIn(machine, runbook, compile));
  if (positions.length === 0) return resting;
  const restored = positions.map((position) => restorePosition(machine, position, steps.get(position.stepId)!));
  const inFlight = restored.find((one) => one.inFlight !== null);
  return {
    ...resting,
    current: restored.map((one) => one.current).find((id) => id !== undefined) ?? current,
    reattach: restored.flatMap((one) => one.reattach),
    inFlight: inFlight?.inFlight ?? null,
    interrupted: restored.some((one) => one.interrupted),
  };
}

/** What restoring one resting step did: followed again, restored as interrupted, or left as it was. */
interface RestoredPosition {
  reattach: string[];
  inFlight: string | null;
  interrupted: boolean;
  /** Set when the step became the one in focus. */
  current?: string;
}

function restorePosition(machine: PersistedMachine, position: { stepId: string; place: string }, step: Step): RestoredPosition {
  const resting: RestoredPosition = { reattach: [], inFlight: null, interrupted: false };
  /** Puts the step back into `sub`, with nothing in flight: its state in the saved value, and no effect of its own running. */
  const rest = (sub: 'failed' | 'interrupted') => {
    machine.value = withStepState(machine.value, step.id, sub);
    for (const key of Object.keys(machine.children)) if (key.includes(`.${step.id}.`)) delete machine.children[key];
  };
  // Looking at an attempt that may still run, for a decision of the upgrader's: nothing started, so asked again.
  if (position.place === 'checkingAttempt' || position.place === 'stoppingAttempt') {
    rest('failed');
    return resting;
  }
  // An "already done?" probe changes nothing: restored as it was, it is asked again.
  if (position.place === 'probing') return resting;
  // An edit's diff lives only in the nightshift that worked it out: its file is read again on a retry.
  if (step.kind === 'edit' && (position.place === 'preparing' || position.place === 'approval')) {
    rest('failed');
    const record = machine.context.steps[step.id]!;
    record.status = 'failed';
    record.error = `nightshift stopped before the change to ${step.path} on ${step.host} was made: retry to read the file again and see its diff`;
    machine.context.current = step.id;
    return { ...resting, current: step.id };
  }
  // Deciding a `when:` changes nothing on a host: restored as it was, its decision is made again (facts gathered anew).
  if (position.place === 'deciding') return resting;
  // Only an effect can be in flight: a step held for hands, waiting for someone, or failed is restored as it was.
  if (position.place !== 'running' && position.place !== 'checking') return resting;
  if (position.place === 'running' && followsAgain(step)) return { ...resting, reattach: [step.id], inFlight: step.id };
  rest('interrupted');
  return { ...resting, inFlight: step.id, interrupted: true };
}

/** The saved state value with the step's state (wherever it is: a track, or a host's region of a batch) put at `sub`. */
function withStepState(value: StateValue, stepId: string, sub: string): StateValue {
  if (typeof value !== 'object') return value;
  if (stepId in value) return { ...value, [stepId]: sub };
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, inner === undefined ? inner : withStepState(inner, stepId, sub)])) as StateValue;
}

/**
 * The saved machine's state as this runbook's machine has it. A state the runbook no
 * longer has (its step gone, or no longer needing hands) cannot be resumed.
 */
function savedIn(machine: PersistedMachine, runbook: Runbook, compile: CompileOptions): RunbookSnapshot {
  const resolve = (book: Runbook) =>
    compileRunbook(book, compile).resolveState({ value: machine.value, context: { ...machine.context, hands: machine.context.hands ?? NO_HANDS } });
  try {
    return resolve(runbook);
  } catch {
    const stepId = machine.context.current;
    const step = stepId === null ? undefined : allSteps(runbook).find((candidate) => candidate.id === stepId);
    if (!step) {
      throw new RestoreError(
        `the session stopped at step ${stepId ?? '?'}, which the runbook no longer has; put the step back to resume, or start a new session.`,
      );
    }
    if (!step.needsHands && heldIfNeedingHands(machine, runbook, step.id)) {
      throw new RestoreError(
        `the session stopped at step ${step.id}, held for hands on site, but the runbook no longer says needs: hands there; put it back to resume, or start a new session.`,
      );
    }
    throw new RestoreError(
      `the session stopped at step ${step.id} in a state its step no longer has (the runbook changed it since); put it back to resume, or start a new session.`,
    );
  }
}

/** Whether the saved state would be a step held for hands, were that step still to need them. */
function heldIfNeedingHands(machine: PersistedMachine, runbook: Runbook, stepId: string): boolean {
  const needing = (steps: Step[]) => steps.map((step) => (step.id === stepId ? { ...step, needsHands: true } : step));
  const asBefore = {
    ...runbook,
    phases: runbook.phases.map((phase) => ({ ...phase, steps: needing(phase.steps), ...(phase.fallback ? { fallback: needing(phase.fallback) } : {}) })),
    fallback: needing(runbook.fallback),
  };
  try {
    return compileRunbook(asBefore)
      .resolveState({ value: machine.value, context: { ...machine.context, hands: machine.context.hands ?? NO_HANDS } })
      .hasTag('held');
  } catch {
    return false;
  }
}

/** Steps that can simply go on: nothing is done twice by starting them again. */
function followsAgain(step: Step): boolean {
  return (step.kind === 'run' && step.detached) || step.kind === 'upload' || step.kind === 'wait';
}

/**
 * XState keeps no delayed transitions in a saved machine, so a step that goes on after a
 * resume would have no time limit: its limit is armed again, counted from when the
 * attempt started (it ran on meanwhile). Returns a function that disarms it.
 */
export function rearmTimeLimit(
  actor: { send(event: EngineEvent): void; getSnapshot(): { context: { steps: Record<string, StepRecord> } } },
  restored: RestoredMachine,
  runbook: Runbook,
  now = Date.now(),
): () => void {
  const timers = restored.reattach.flatMap((stepId) => {
    const step = allSteps(runbook).find((candidate) => candidate.id === stepId);
    const record = actor.getSnapshot().context.steps[stepId];
    if (!step || !('timeoutMs' in step) || step.timeoutMs === undefined || record?.startedAt === undefined) return [];
    const attempt = record.attempts;
    const left = Math.max(0, record.startedAt + step.timeoutMs - now);
    return [setTimeout(() => actor.send({ type: 'TIMEOUT', stepId, attempt }), left)];
  });
  return () => timers.forEach(clearTimeout);
}
