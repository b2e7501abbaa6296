// The machine's persisted snapshot, written atomically (temporary file, fsync, rename) at
// every change, so that a crash leaves either the previous snapshot or the new one (a
// temporary file left by a crash is never read).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileErrorText } from './file-error.js';
import { replaceFile } from './replace-file.js';
import { maskedAsJson, type EntryFields, type EntryType, type JournalEntry, type TextMasker } from './journal.js';

export interface SessionSnapshot {
  version: 1;
  /** sha256 of the runbook the machine was compiled from. */
  runbookHash: string;
  savedAt: string;
  /** XState's persisted snapshot of the runbook machine. */
  machine: unknown;
  /**
   * Per detached command running at the time, how much of its output its log held (the
   * bytes of stdout and stderr followed from the host): a resume follows it on from there.
   */
  outputs?: Record<string, SavedOutputOffsets>;
  /**
   * The journal entries of the change this snapshot saves, written to the journal right
   * after it: a crash in between leaves them here, and reopening the session writes them.
   */
  journalEntries?: JournalEntry[];
}

export interface SavedOutputOffsets {
  attempt: number;
  stdout: number;
  stderr: number;
  /** What the log holds, when masked secrets make it differ from stdout + stderr. */
  log?: number;
  /** The host said the command was started: a resume only follows it, never starts it. */
  started?: true;
}

export const SNAPSHOT_FILE = 'snapshot.json';

export function writeSnapshot(dir: string, snapshot: SessionSnapshot): void {
  replaceFile(path.join(dir, SNAPSHOT_FILE), JSON.stringify(snapshot));
}

export function readSnapshot(dir: string): SessionSnapshot | null {
  const file = path.join(dir, SNAPSHOT_FILE);
  if (!existsSync(file)) return null;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as SessionSnapshot;
  if (parsed.version !== 1) throw new Error(`${file} is of an unknown version (${String(parsed.version)}).`);
  return parsed;
}

/** The session's journal as far as the snapshot writer needs it. */
interface JournalAppender {
  append<T extends EntryType>(type: T, fields: EntryFields<T>): unknown;
}

/** What the upgrader must be told about the snapshot: it could not be written, or it could again. */
export type SnapshotTrouble =
  | { kind: 'failed'; file: string; error: string /** ms since the epoch, null before the first */; lastSavedAt: number | null }
  | { kind: 'recovered'; file: string; failures: number };

/**
 * A run's snapshots, for a run that must go on when one cannot be written (no file
 * descriptors left, a full disk, a folder made read-only): the journal still gets every
 * entry, and a resume would start from the last snapshot written. The first failure of a
 * stretch is journaled (`snapshot.failed`) and told to the listeners, once; so is the
 * first success after it (`snapshot.recovered`). Every change tries again.
 */
export class SnapshotWriter {
  readonly #listeners = new Set<(trouble: SnapshotTrouble) => void>();
  readonly #file: string;
  #lastSavedAt: number | null = null;
  #failures = 0;
  /** The run's secrets: masked in the saved state (error texts the machine keeps). */
  secrets?: TextMasker;

  constructor(
    private readonly dir: string,
    private readonly journal: JournalAppender,
  ) {
    this.#file = path.join(dir, SNAPSHOT_FILE);
  }

  /** Whether it was written; a failure is reported, never thrown. */
  write(snapshot: SessionSnapshot): boolean {
    try {
      writeSnapshot(this.dir, maskedAsJson(snapshot, this.secrets));
    } catch (error) {
      if (this.#failures++ === 0) {
        const message = fileErrorText(error);
        const lastSavedAt = this.#lastSavedAt;
        // The change this snapshot was to save: its journal entries, written just before this
        // one, are the first the saved state does not hold.
        const fromSeq = snapshot.journalEntries?.[0]?.seq;
        this.journal.append('snapshot.failed', {
          file: this.#file,
          error: message,
          lastSavedAt: lastSavedAt === null ? null : new Date(lastSavedAt).toISOString(),
          ...(fromSeq !== undefined ? { fromSeq } : {}),
        });
        this.#tell({ kind: 'failed', file: this.#file, error: message, lastSavedAt });
      }
      return false;
    }
    if (this.#failures > 0) {
      this.journal.append('snapshot.recovered', { file: this.#file, failures: this.#failures });
      this.#tell({ kind: 'recovered', file: this.#file, failures: this.#failures });
      this.#failures = 0;
    }
    this.#lastSavedAt = Date.now();
    return true;
  }

  /** Hears the first failure of each stretch and the recovery after it; returns the unsubscribe function. */
  onTrouble(listener: (trouble: SnapshotTrouble) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #tell(trouble: SnapshotTrouble): void {
    for (const listener of [...this.#listeners]) listener(trouble);
  }
}

/** The sentence for the upgrader; `clock` shows a time in their zone. */
export function snapshotTroubleText(trouble: SnapshotTrouble, clock: (at: number) => string, journalFailing = false): string {
  if (trouble.kind === 'recovered') return `the run's state is saved again in ${trouble.file}.`;
  const since = trouble.lastSavedAt === null ? 'no saved state at all' : `the state saved at ${clock(trouble.lastSavedAt)}`;
  return (
    `could not save the run's state in ${trouble.file} (${trouble.error}): the run goes on and the journal ${journalFailing ? 'will keep' : 'keeps'} every event, ` +
    `but a resume now would start from ${since}; free that folder (space, permissions, open files) and the next change saves it again.`
  );
}
