// What a report says of going again: the session this one went again from and the
// sessions that went again from it, and, for a step that did not run here, why.
import type { SessionRecord, StepInfo } from './session-record.js';

/** The lines about linked sessions, for the facts at the top of a report. */
export function linkLines(record: SessionRecord): string[] {
  const lines: string[] = [];
  if (record.again) {
    lines.push(
      record.again.session === null
        ? `Started at phase ${record.again.from}; no earlier session was known: the steps before it were not run`
        : `Goes again from phase ${record.again.from} of session ${record.again.session}`,
    );
  }
  for (const session of record.goneAgainIn ?? []) lines.push(`Gone again in session ${session}`);
  return lines;
}

/** Why a step has no attempt in this session: found done by its check, done by the session gone again from, or not run (null). */
export function notRunText(record: SessionRecord, step: StepInfo): { text: string; output?: string } | null {
  const found = record.foundDone?.findLast((candidate) => candidate.stepId === step.id);
  if (found) return { text: 'Already done (check passed): not run.', output: found.output };
  if (!record.again || step.phase === null || !isBefore(record, step.phase, record.again.from)) return null;
  return record.again.session === null
    ? { text: `Not run: the run started at phase ${record.again.from}.` }
    : { text: `Done by session ${record.again.session}.` };
}

function isBefore(record: SessionRecord, phase: string, from: string): boolean {
  const names = record.phases.map((candidate) => candidate.name);
  const at = names.indexOf(phase);
  const start = names.indexOf(from);
  return at !== -1 && start !== -1 && at < start;
}
