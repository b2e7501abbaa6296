// A phase's own fallback (`fallback:` and `fallback_then:` on a phase): its steps, and the
// problems of writing one. Its steps are numbered 2.F1, 2.F2 … and their ids default to
// <phase>-fallback-<n>.
import type { RawRunbook, RawStep } from './schema.js';
import type { Phase, SourcePosition, Step } from './types.js';

type Path = readonly PropertyKey[];
type Locate = (path: Path, key?: string) => SourcePosition;
type Report = (at: SourcePosition, message: string) => void;
type RawPhase = RawRunbook['phases'][number];

/** The phase's fallback steps and what follows them, as the loader makes them (`toStep(rawStep, index)`). */
export function phaseFallbackOf(rawPhase: RawPhase, toStep: (rawStep: RawStep, index: number) => Step): Pick<Phase, 'fallback' | 'fallbackThen'> {
  const steps = (rawPhase.fallback ?? []).map((rawStep, s) => toStep(rawStep, s));
  return {
    ...(steps.length > 0 ? { fallback: steps } : {}),
    ...(rawPhase.fallback_then !== undefined ? { fallbackThen: rawPhase.fallback_then } : {}),
  };
}

/** What cannot be said of a phase's fallback: a step of it falling back again, fallback_then without a fallback or without an outer one. */
export function checkPhaseFallbacks(phases: Phase[], rawPhases: RawPhase[], outer: RawStep[], locate: Locate, report: Report): void {
  for (const [p, phase] of phases.entries()) {
    const raw = rawPhases[p]!;
    for (const [s, step] of (phase.fallback ?? []).entries()) {
      if ('onFail' in step && step.onFail === 'fallback') {
        report(
          locate(['phases', p, 'fallback', s, 'on_fail']),
          `fallback step ${step.number} cannot fall back again; use ask or continue (a failure there goes on to the runbook's fallback by itself)`,
        );
      }
    }
    if (raw.fallback_then === undefined) continue;
    if (phase.fallback === undefined) {
      report(locate(['phases', p, 'fallback_then']), `phase ${p + 1} says fallback_then but has no 'fallback' steps; add them, or remove fallback_then`);
    } else if (raw.fallback_then === 'outer' && outer.length === 0) {
      report(
        locate(['phases', p, 'fallback_then']),
        `phase ${p + 1} says fallback_then: outer but the runbook has no 'fallback' steps to go on to; add them, or say fallback_then: stop`,
      );
    }
  }
}
