// What the engine's machine remembers of a run: each step's record, the track, the step
// in focus, and whether someone is on site.
import type { Actor, HostOutcome, StepRecord } from './events.js';

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
  /**
   * Values captured by steps (`capture:`) and carried over from an earlier session, by
   * name. A context saved before this existed has none: read it with `valuesOf`.
   */
  values?: Record<string, string>;
  /** While a fallback runs: the phase whose own fallback it is, or null for the runbook's. */
  scope?: string | null;
  /** Each `for_each` phase that has started, by phase name. */
  fleets?: Record<string, FleetRecord>;
}

/** A rollout: its batch in progress (index into Fleet.batches) and where each host stands. */
export interface FleetRecord {
  batch: number;
  hosts: Record<string, HostRecord>;
  /** The upgrader's STOP_ROLLOUT: no batch starts after this one; the halt checkpoint says why. */
  stopping?: { by: Actor; reason: string };
  /** Failed hosts the upgrader went on past at a halt: only failures beyond these count against max_fail again. */
  accepted?: string[];
}

export interface HostRecord {
  outcome: HostOutcome;
  batch: number;
  startedAt?: number;
  endedAt?: number;
  /** Why a host failed, fell back or was skipped. */
  reason?: string;
  /** At a `per: batch` checkpoint: waiting for the batch's other hosts and the confirmation, holding no slot. */
  parked?: boolean;
}

/** The captured values of a context (none in a context saved before they existed). */
export function valuesOf(context: { values?: Record<string, string> }): Record<string, string> {
  return context.values ?? {};
}

/** The key a captured value is kept under: a host's own for a step of a `for_each` phase (each host captures its own). */
export function capturedKey(name: string, step: { instanceOf?: { host: string } }): string {
  return step.instanceOf ? `${name}@${step.instanceOf.host}` : name;
}

/** The captured values a step sees: the run's, and for a host's step of a `for_each` phase, that host's own over them. */
export function valuesFor(context: { values?: Record<string, string> }, step: { instanceOf?: { host: string } }): Record<string, string> {
  const values = valuesOf(context);
  if (!step.instanceOf) return values;
  const suffix = `@${step.instanceOf.host}`;
  const own = Object.entries(values)
    .filter(([key]) => key.endsWith(suffix))
    .map(([key, value]) => [key.slice(0, -suffix.length), value]);
  return { ...values, ...Object.fromEntries(own) };
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

export function updateStep(context: EngineContext, stepId: string, patch: Partial<StepRecord>): Record<string, StepRecord> {
  return { ...context.steps, [stepId]: { ...context.steps[stepId]!, ...patch } };
}
