// Sentences shared by the report's formats.
import type { Actor, Attempt, Confirmation, SessionRecord, StepInfo } from './session-record.js';

export { outcomeText } from '../text/outcome.js';

export function actorText(actor: Actor): string {
  return actor.role === 'nightshift' ? 'nightshift' : `${actor.name} (${actor.role})`;
}

export function confirmationText(confirmation: Confirmation): string {
  switch (confirmation.kind) {
    case 'confirmed':
      return confirmation.relayed
        ? `confirmed for the ${confirmation.role}, relayed by ${actorText(confirmation.by)}`
        : `confirmed by ${actorText(confirmation.by)}`;
    case 'approved':
      return `approved by ${actorText(confirmation.by)} (typed confirmation)`;
    case 'refused':
      return `not accepted from ${actorText(confirmation.by)}${confirmation.reason ? `: ${confirmation.reason}` : ''}`;
  }
}

/** "2.1 Write the new partition table", or the id of a step the journal does not describe. */
export function stepName(record: SessionRecord, stepId: string | null): string {
  if (stepId === null) return '(the run)';
  const step = record.steps.find((candidate) => candidate.id === stepId);
  if (!step) return stepId;
  return step.number ? `${step.number} ${step.title}` : step.title;
}

/** Which fallbacks ran, for the outcome line: " (fallback of phase swap, then the runbook's fallback)", or ''. */
export function fallbacksText(record: SessionRecord): string {
  return record.fallbacks.length > 0 ? ` (${record.fallbacks.join(', then ')})` : '';
}

export function stepsInOrder(record: SessionRecord): { main: StepInfo[]; fallback: StepInfo[] } {
  return {
    main: record.steps.filter((step) => step.phase !== null),
    fallback: record.steps.filter((step) => step.phase === null),
  };
}

export function attemptsOf(record: SessionRecord, stepId: string): Attempt[] {
  return record.attempts.filter((attempt) => attempt.stepId === stepId);
}

export function attemptStatusText(attempt: Attempt): string {
  switch (attempt.status) {
    case 'running':
      return 'no end recorded';
    case 'interrupted':
      return 'interrupted (nightshift stopped while it ran)';
    default:
      return attempt.status;
  }
}

export function exitText(attempt: Attempt): string {
  if (attempt.exitCode === undefined) return '';
  return attempt.exitCode === null ? 'no exit status' : `exit status ${attempt.exitCode}`;
}
