// A saved state older than the journal: snapshot.json could not be written (a full disk, no
// file descriptors left) and nightshift stopped before it could write it again. Resuming
// from it would go back to before the steps the journal records since: they would run
// again. Read from the journal alone, so that resume can put the facts to the upgrader.
import type { JournalEntry } from './journal.js';

export interface StepSinceSaved {
  stepId: string;
  /** null when it started before the saved state (only its end came since). */
  attempt: number | null;
  startedAt: string | null;
  /** How it ended, when the journal says; absent while no end was recorded. */
  ended?: { status: string; at: string };
}

export interface StaleSnapshot {
  /** When writing it first failed, and why; null when it is simply missing. */
  failedAt: string | null;
  error: string;
  /** The time of the state it holds (null: it was never written). */
  savedAt: string | null;
  steps: StepSinceSaved[];
}

/** The journal's account of a saved state that fell behind and never caught up, or undefined when the last write stood. */
export function staleSnapshotOf(entries: readonly JournalEntry[]): StaleSnapshot | undefined {
  const failed = entries.findLastIndex((entry) => entry.type === 'snapshot.failed');
  if (failed < 0 || entries.slice(failed + 1).some((entry) => entry.type === 'snapshot.recovered')) return undefined;
  const failure = entries[failed]!;
  return {
    failedAt: failure.at,
    error: String(failure['error'] ?? 'unknown error'),
    savedAt: typeof failure['lastSavedAt'] === 'string' ? failure['lastSavedAt'] : null,
    // From the first entry the saved state does not hold: the change whose save failed is journaled just before the failure.
    steps: stepsIn(typeof failure['fromSeq'] === 'number' ? entries.filter((entry) => entry.seq >= Number(failure['fromSeq'])) : entries.slice(failed + 1)),
  };
}

/** No saved state at all, yet the journal records steps (the file was lost): those steps, or undefined when none ran. */
export function stepsWithoutSnapshot(entries: readonly JournalEntry[]): StaleSnapshot | undefined {
  const steps = stepsIn(entries);
  return steps.length > 0 ? { failedAt: null, error: 'snapshot.json is missing', savedAt: null, steps } : undefined;
}

function stepsIn(entries: readonly JournalEntry[]): StepSinceSaved[] {
  const steps: StepSinceSaved[] = [];
  for (const entry of entries) {
    const stepId = typeof entry['stepId'] === 'string' ? entry['stepId'] : undefined;
    if (stepId === undefined) continue;
    if (entry.type === 'step.started') {
      steps.push({ stepId, attempt: Number(entry['attempt'] ?? 1), startedAt: entry.at });
      continue;
    }
    const ending = entry.type === 'step.finished' ? String(entry['status']) : entry.type === 'step.skipped' ? 'skipped' : undefined;
    if (ending === undefined) continue;
    const step = steps.findLast((candidate) => candidate.stepId === stepId && candidate.ended === undefined);
    if (step) step.ended = { status: ending, at: entry.at };
    else steps.push({ stepId, attempt: null, startedAt: null, ended: { status: ending, at: entry.at } });
  }
  return steps;
}
