// Going again (`run --from PHASE`, `again`): where the main track starts, and what the
// steps before it are. With an earlier session they count as done by it (`carriedFrom`);
// without one (no earlier session of this runbook is known) they are skipped, with the
// reason "not run: the run started at PHASE", never shown as done.
import { fleetStateKey } from './fleet-ids.js';
import type { Runbook } from '../runbook/types.js';
import type { StepRecord } from './events.js';

export interface GoingAgain {
  phase: string;
  session: string | null;
  values?: Record<string, string>;
}

export class UnknownPhaseError extends Error {
  override readonly name = 'UnknownPhaseError';
}

/** The first step of `phase` on the main track; an UnknownPhaseError names the phases there are. */
export function firstStepOf(runbook: Runbook, phase: string): string {
  const found = runbook.phases.find((candidate) => candidate.name === phase);
  if (!found) {
    throw new UnknownPhaseError(`the runbook has no phase "${phase}"; its phases: ${runbook.phases.map((candidate) => candidate.name).join(', ') || 'none'}`);
  }
  // A guard is armed at the start of its block: going again from inside it would commit a guard never armed.
  if (found.guard && found.guard.id !== found.name) {
    throw new UnknownPhaseError(
      `the phase "${phase}" is inside the guard of phase "${found.guard.id}", which is armed where its block starts: go again from "${found.guard.id}"`,
    );
  }
  if (found.fleet) return fleetStateKey(found.name);
  const first = found.steps[0];
  if (!first) throw new UnknownPhaseError(`the phase "${phase}" has no steps to start from`);
  return first.id;
}

/** The reason a step before the starting phase was not run, when no session did it. */
export function notRunReason(phase: string): string {
  return `not run: the run started at ${phase}`;
}

/** The records of the main steps before the starting phase: done by `session`, or skipped when there is none. */
export function carriedRecords(runbook: Runbook, from: GoingAgain): Record<string, StepRecord> {
  const records: Record<string, StepRecord> = {};
  for (const phase of runbook.phases) {
    if (phase.name === from.phase) break;
    for (const step of phase.steps) {
      records[step.id] =
        from.session !== null
          ? { status: 'done', attempts: 0, confirmations: [], carriedFrom: from.session }
          : { status: 'skipped', attempts: 0, confirmations: [], skipReason: notRunReason(from.phase) };
    }
  }
  return records;
}

/** The compile options of a run that goes again (none otherwise): it starts at the phase, and every check is asked first. */
export function goingAgainOptions(again: GoingAgain | undefined): { from?: GoingAgain; probeChecks?: boolean } {
  return again ? { from: again, probeChecks: true } : {};
}
