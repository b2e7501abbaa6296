// The append-only record of a session, one JSON object per line. Every entry is written
// and fsynced before the call returns: entries are few (steps, decisions, confirmations),
// output goes to per-step files and the journal only references them.
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';

export interface JournalEntry {
  seq: number;
  /** ISO time with zone offset Z */
  at: string;
  type: string;
  [field: string]: unknown;
}

export class Journal {
  private fd: number | null;
  private seq = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a', 0o600);
  }

  append(type: string, fields: Record<string, unknown> = {}, at = Date.now()): JournalEntry {
    if (this.fd === null) throw new Error(`the journal ${this.path} is closed`);
    const entry: JournalEntry = { seq: ++this.seq, at: new Date(at).toISOString(), type, ...fields };
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    fsyncSync(this.fd);
    return entry;
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}

export function readJournal(file: string): JournalEntry[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as JournalEntry);
}
