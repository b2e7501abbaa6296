// The --json stream: one JSON object a line on stdout, a stable interface for programs
// (documented in the README, "The --json stream"). A run's lines are its journal's entries
// as they are written, each with the stream's version and the session id; besides them the
// output lines of steps, the questions a program must answer, and nightshift's notices.
// A change that removes or renames a field or an entry type, or changes a field's meaning,
// raises JSON_STREAM_VERSION; adding an entry type or an optional field does not.
import { stripVTControlCharacters } from 'node:util';
import { safeJson } from '../../output/neutralize.js';
import type { Journal } from '../../store/journal.js';

export const JSON_STREAM_VERSION = 1;

/** One line of the stream: `v` first, then `session` when there is one, then the object's fields. */
export function jsonLine(fields: { type: string } & Record<string, unknown>, session?: string): string {
  return `${safeJson({ v: JSON_STREAM_VERSION, ...(session !== undefined ? { session } : {}), ...fields })}\n`;
}

/**
 * Writes every entry of the journal as it is written, from now on; returns the stop.
 * `hostOfStep`: the host of a rollout a step is for; an entry about such a step that names
 * no host of its own gets `host`, so that every line of a rollout says which host it is about.
 */
export function streamJournal(
  journal: Journal,
  session: string,
  write: (text: string) => void,
  hostOfStep?: (stepId: string) => string | undefined,
): () => void {
  return journal.onWritten((entry) => {
    const stepId = 'stepId' in entry && typeof entry.stepId === 'string' ? entry.stepId : undefined;
    const host = stepId !== undefined && !('host' in entry && entry.host !== undefined) ? hostOfStep?.(stepId) : undefined;
    write(jsonLine(host !== undefined ? { ...entry, host } : entry, session));
  });
}

/** Something nightshift tells the upgrader (an answer it did not understand, input that ended), as a line of the stream. */
export function noticeLine(text: string, session?: string): string {
  return jsonLine({ type: 'notice', text: stripVTControlCharacters(text), at: new Date().toISOString() }, session);
}
