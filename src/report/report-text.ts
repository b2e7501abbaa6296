// Sentences shared by the report's formats.
import { formatDuration } from '../runbook/duration.js';
import type { Rollout, RolloutBatch, RolloutHost } from './rollout-record.js';
import {
  shellEndText,
  type Actor,
  type Attempt,
  type Confirmation,
  type Decision,
  type HandShellRecord,
  type SessionRecord,
  type StepInfo,
} from './session-record.js';
import { bothClocks } from './clocks.js';

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

/** How a host of a rollout ended, in words. */
export function hostOutcomeText(host: RolloutHost): string {
  switch (host.outcome) {
    case 'queued':
      return 'not started';
    case 'running':
      return 'no end recorded';
    case 'done':
      return 'done';
    case 'failed':
      return 'failed, left as it was';
    case 'fell-back':
      return 'fell back';
    case 'skipped':
      return 'skipped';
  }
}

/** One host of a rollout as the table's cells: host, batch, outcome, the step it failed at (and its error), why, how long it took. */
export function rolloutHostCells(
  record: SessionRecord,
  host: RolloutHost,
): { host: string; batch: string; outcome: string; failedAt: string; reason: string; took: string } {
  const failed = host.failedStep;
  return {
    host: host.host,
    batch: String(host.batch),
    outcome: hostOutcomeText(host),
    failedAt: failed ? `${stepName(record, failed.stepId)}${failed.error !== undefined ? `: ${failed.error}` : ''}` : '',
    reason: host.reason ?? '',
    took: host.startedAt !== undefined && host.endedAt !== undefined ? formatDuration(host.endedAt - host.startedAt) : '',
  };
}

/** "canary batch 1/4: vm1" and what became of it: "1 done, 1 failed (vm3); the rollout halted: …". */
export function batchText(rollout: Rollout, batch: RolloutBatch): { title: string; result: string } {
  const title = `${batch.canary ? 'canary ' : ''}batch ${batch.batch}/${Math.max(rollout.batches.length, batch.batch)}: ${batch.hosts.join(' ')}`;
  const result =
    batch.endedAt === undefined
      ? 'no end recorded'
      : `${batch.done.length} done${batch.failed.length > 0 ? `, ${batch.failed.length} failed (${batch.failed.join(' ')})` : ''}`;
  return { title, result: `${result}${batch.halted ? `; the rollout halted: ${batch.halted.reason}` : ''}` };
}

/** What a decision was about: its step, or the host of a rollout (and its step, when it names one). */
export function decisionSubject(record: SessionRecord, decision: Decision): string {
  if (decision.host === undefined) return stepName(record, decision.stepId);
  return `host ${decision.host}${decision.stepId !== null ? `, ${stepName(record, decision.stepId)}` : ''}`;
}

/** One shell by hand: where, when (both clocks), from which step, how it ended, where its recording is. */
export function shellSummary(record: SessionRecord, shell: HandShellRecord): string {
  const step = shell.stepId !== null ? `, while step ${stepName(record, shell.stepId)} was shown` : '';
  const lasted = shell.end ? ` after ${formatDuration(shell.end.at - shell.openedAt)}` : '';
  return `As ${shell.where}, opened ${bothClocks(record.sites, shell.openedAt)}${step}; ${shellEndText(shell.end)}${lasted}. Its screen: ${shell.file} (asciicast: ${shell.cast}).`;
}
