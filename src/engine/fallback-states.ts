// The machine's states for scoped fallbacks: a track per phase that has a fallback of its
// own, and the FALLBACK transitions that start the innermost fallback there is (see
// fallback-scope.ts for which one that is).
import { and } from 'xstate';
import type { Runbook } from '../runbook/types.js';
import { fallbackStateOf, type FallbackScopes } from './fallback-scope.js';
import type { StateConfig } from './setup.js';
import type { TrackOptions } from './step-plan.js';
import { trackStates } from './step-states.js';

/**
 * One track per phase fallback, entered with the phase as the run's scope. Once done, the run
 * ends fallen back, or (fallback_then: outer) goes on to the runbook's fallback.
 */
export function phaseFallbackStates(runbook: Runbook, tracks: TrackOptions & { fallbacks: FallbackScopes }): Record<string, StateConfig> {
  const states: Record<string, StateConfig> = {};
  for (const phase of runbook.phases) {
    if (phase.fallback === undefined || phase.fallback.length === 0) continue;
    const key = fallbackStateOf(phase.name);
    const outer = phase.fallbackThen === 'outer' && tracks.fallbacks.outer;
    states[key] = {
      entry: [{ type: 'enterFallback', params: { scope: phase.name } }],
      ...trackStates(key, phase.fallback, tracks),
      onDone: outer ? { target: fallbackStateOf(null), actions: [{ type: 'requestFallback', params: { after: phase.name } }] } : 'fellBack',
    };
  }
  return states;
}

/** FALLBACK, taken where the rules allow it, to the fallback of the scope it starts. */
export function fallbackRequests(scopes: FallbackScopes) {
  const allowed = { type: 'allows' as const, params: { at: null } };
  const request = { type: 'requestFallback' as const, params: {} };
  return [...Object.keys(scopes.phases), null].map((scope) => ({
    guard: and([allowed, { type: 'fallsBackTo' as const, params: { scope } }]),
    target: `.${fallbackStateOf(scope)}`,
    actions: [request],
  }));
}
