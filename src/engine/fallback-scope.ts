// Scoped fallbacks: which fallback a failure or the upgrader's FALLBACK starts. The innermost
// scope first: a phase's own fallback for a step of that phase, then the runbook's. A phase's
// fallback that fails (or says fallback_then: outer) goes on to the runbook's.
import type { Runbook, Step } from '../runbook/types.js';

/** The fallbacks a runbook has, as the machine, its rules and its view need them. */
export interface FallbackScopes {
  /** Phases with a fallback of their own, and what follows it once it is done. */
  phases: Record<string, 'stop' | 'outer'>;
  /** Whether the runbook has fallback steps of its own (the outer scope). */
  outer: boolean;
  /** A step of a phase that has a fallback: that phase, by step id. */
  phaseOf: Record<string, string>;
  /** A step of a phase's fallback: that phase, by step id. */
  fallbackOf: Record<string, string>;
}

export function fallbackScopesOf(runbook: Runbook): FallbackScopes {
  const scopes: FallbackScopes = { phases: {}, outer: runbook.fallback.length > 0, phaseOf: {}, fallbackOf: {} };
  for (const phase of runbook.phases) {
    if (phase.fleet) {
      // A rollout's fallback is its hosts' (fall back all): every step of the phase, its checkpoints too, falls back there.
      const hostFallbacks = Object.values(phase.fleet.perHost).flatMap((own) => own.fallback);
      if (hostFallbacks.length === 0) continue;
      scopes.phases[phase.name] = phase.fallbackThen ?? 'stop';
      for (const step of phase.steps) scopes.phaseOf[step.id] = phase.name;
      for (const step of hostFallbacks) scopes.phaseOf[step.id] = phase.name;
      continue;
    }
    if (phase.fallback === undefined || phase.fallback.length === 0) continue;
    scopes.phases[phase.name] = phase.fallbackThen ?? 'stop';
    for (const step of phase.steps) scopes.phaseOf[step.id] = phase.name;
    for (const step of phase.fallback) scopes.fallbackOf[step.id] = phase.name;
  }
  return scopes;
}

/** The machine state of a scope's fallback track. Its capital letter cannot clash with a (lower-case) step id. */
export function fallbackStateOf(scope: string | null): string {
  return scope === null ? 'fallback' : `phaseFallback_${scope}`;
}

/** Whether a transition target (`#machine.state`) starts a fallback, of any scope. */
export function isFallbackTarget(target: string): boolean {
  return /^#[^.]+\.(fallback|phaseFallback_[^.]+)$/.test(target);
}

/** Where the run is, as far as fallbacks go (an engine context is one). */
export interface FallbackPosition {
  track: 'main' | 'fallback';
  /** The phase whose fallback runs, or null (or, saved before scopes existed, absent) for the runbook's. */
  scope?: string | null;
  current: string | null;
}

/**
 * The scope a fallback started now would run: the phase of the step in focus when that phase
 * has a fallback, else the runbook's; while a phase's fallback runs, the runbook's. Undefined:
 * there is none to start.
 */
export function nextFallbackScope(scopes: FallbackScopes, at: FallbackPosition): string | null | undefined {
  if (at.track === 'fallback') return (at.scope ?? null) !== null && scopes.outer ? null : undefined;
  const phase = at.current !== null ? scopes.phaseOf[at.current] : undefined;
  if (phase !== undefined) return phase;
  return scopes.outer ? null : undefined;
}

/** Why FALLBACK cannot start a fallback now, or null when it can. */
export function fallbackRefusal(scopes: FallbackScopes, at: FallbackPosition): string | null {
  if (nextFallbackScope(scopes, at) !== undefined) return null;
  if (!scopes.outer && Object.keys(scopes.phases).length === 0) return 'this runbook has no fallback steps';
  if (at.track === 'fallback') {
    const scope = at.scope ?? null;
    return scope === null
      ? 'the fallback is already running'
      : `the fallback of phase ${scope} is already running, and the runbook has no fallback of its own to go on to`;
  }
  const hint = "add 'fallback:' steps to the runbook, or to the phase";
  return at.current === null
    ? `no step is in focus, and the runbook has no fallback steps of its own (only some phases have); ${hint}`
    : `the phase of step ${at.current} has no fallback steps, and neither has the runbook; ${hint}`;
}

/** Why a failure of `step` started a fallback, as journaled. */
export function automaticFallbackReason(scopes: FallbackScopes, step: Step): string {
  const phase = scopes.fallbackOf[step.id];
  return phase !== undefined
    ? `step ${step.number} of the fallback of phase ${phase} failed: the runbook's fallback follows`
    : `step ${step.number} failed and says on_fail: fallback`;
}

/** Why the runbook's fallback follows a phase's fallback that was done. */
export function afterFallbackReason(phase: string): string {
  return `the fallback of phase ${phase} is done and says fallback_then: outer`;
}

/**
 * The fallback state a failure of `step` goes to on its track (`track`: the track state's
 * name), or undefined when it does not fall back. A step of the main track that says
 * on_fail: fallback starts its phase's fallback, else the runbook's; a step of a phase's
 * fallback that fails (on_fail ask, the default) goes on to the runbook's when it has one.
 */
export function fallbackOnFailure(scopes: FallbackScopes | undefined, step: Step, track: string): string | undefined {
  const onFail = 'onFail' in step ? step.onFail : undefined;
  if (onFail === 'continue') return undefined;
  if (track === 'main') return onFail === 'fallback' ? fallbackStateOf(scopes?.phaseOf[step.id] ?? null) : undefined;
  if (scopes !== undefined && track !== 'fallback' && scopes.fallbackOf[step.id] !== undefined && scopes.outer) return fallbackStateOf(null);
  return undefined;
}

/** Where a step belongs, for a line that names it: its phase, "swap fallback" for a phase's fallback step, or "fallback". */
export function stepScopeLabel(step: Step): string {
  if (step.phase === null) return 'fallback';
  return /\.F\d+$/.test(step.number) ? `${step.phase} fallback` : step.phase;
}

/**
 * The phase whose host keys a step accepts (null: every declared key). A phase's fallback,
 * like the runbook's, may meet its hosts as they were before the phase or part way
 * through it, so it accepts every key the runbook declares, as the runbook's does.
 */
export function hostKeyPhaseOf(step: Step): string | null {
  return step.phase === null || /\.F\d+$/.test(step.number) ? null : step.phase;
}
