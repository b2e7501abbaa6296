// The machine's persisted snapshot, written atomically (temporary file, fsync, rename) at
// every change, so that a crash leaves either the previous snapshot or the new one (a
// temporary file left by a crash is never read).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { JournalEntry } from './journal.js';

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
}

export const SNAPSHOT_FILE = 'snapshot.json';

export function writeSnapshot(dir: string, snapshot: SessionSnapshot): void {
  const file = path.join(dir, SNAPSHOT_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(snapshot));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}

export function readSnapshot(dir: string): SessionSnapshot | null {
  const file = path.join(dir, SNAPSHOT_FILE);
  if (!existsSync(file)) return null;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as SessionSnapshot;
  if (parsed.version !== 1) throw new Error(`${file} is of an unknown version (${String(parsed.version)}).`);
  return parsed;
}
