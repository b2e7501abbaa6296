// The append-only record of a session, one JSON object per line. Every entry is written
// and fsynced before the call returns: entries are few (steps, decisions, confirmations),
// output goes to per-step files and the journal only references them.
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

export interface JournalEntry {
  seq: number;
  /** ISO time with zone offset Z */
  at: string;
  type: string;
  [field: string]: unknown;
}

export class Journal {
  private fd: number | null;

  /** `seq`: the last entry's number when appending to an existing journal. */
  constructor(
    readonly path: string,
    private seq = 0,
  ) {
    this.fd = openSync(path, 'a+', 0o600);
    this.endLastLine(this.fd);
  }

  /**
   * A last entry that is whole but lacks its newline (cut off right before it) would join
   * the next one into a line no one can read: it gets its newline first. A torn last line
   * is the opener's to cut off before (see reopenSession).
   */
  private endLastLine(fd: number): void {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return;
    writeSync(fd, '\n');
    fsyncSync(fd);
  }

  get lastSeq(): number {
    return this.seq;
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

export interface JournalReading {
  entries: JournalEntry[];
  /** A last line that was being written when the program died: left out, and reported. */
  torn?: { line: number; text: string };
}

/**
 * Reads a journal. Only the last line may be torn (a crash while it was written); a
 * broken line anywhere else means the file was damaged, and that is an error.
 */
export function readJournalChecked(file: string): JournalReading {
  const lines = readFileSync(file, 'utf8').split('\n');
  const entries: JournalEntry[] = [];
  let torn: JournalReading['torn'];
  lines.forEach((text, index) => {
    if (text.trim() === '') return;
    try {
      entries.push(JSON.parse(text) as JournalEntry);
    } catch {
      const isLast = lines.slice(index + 1).every((rest) => rest.trim() === '');
      if (!isLast) throw new Error(`${file}:${index + 1}: the journal is damaged: this line is not a journal entry.`);
      torn = { line: index + 1, text };
    }
  });
  return torn ? { entries, torn } : { entries };
}

export function readJournal(file: string): JournalEntry[] {
  return readJournalChecked(file).entries;
}
