// The append-only record of a session, one JSON object per line. Every entry is written
// and fsynced before the call returns (a held one: when released): entries are few
// (steps, decisions, confirmations), output goes to per-step files and the journal only
// references them.
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

export interface JournalEntry {
  seq: number;
  /** ISO time with zone offset Z */
  at: string;
  type: string;
  [field: string]: unknown;
}

/** Masks secret values in what is written (see output/secret-mask.ts). */
export interface TextMasker {
  readonly empty: boolean;
  maskDeep<T>(value: T): T;
}

/** `value` as JSON would hold it (dates as text, no undefined), with secrets masked in every string. */
export function maskedAsJson<T>(value: T, secrets: TextMasker | undefined): T {
  if (!secrets || secrets.empty || value === undefined) return value;
  return secrets.maskDeep(JSON.parse(JSON.stringify(value)) as T);
}

export class Journal {
  private fd: number | null;
  private readonly held: JournalEntry[] = [];
  /** The run's secrets: masked in every entry before it is numbered, held or written. */
  secrets?: TextMasker;

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
    const entry = this.entry(type, fields, at);
    this.write([...this.held.splice(0), entry]);
    return entry;
  }

  /**
   * Numbers an entry but holds it back until `release` (or the next append, which keeps
   * the numbers in order): the machine's entries wait for the snapshot that holds them
   * too, so a crash between the two leaves them in the snapshot, never in the journal alone.
   */
  hold(type: string, fields: Record<string, unknown> = {}, at = Date.now()): JournalEntry {
    const entry = this.entry(type, fields, at);
    this.held.push(entry);
    return entry;
  }

  get heldEntries(): readonly JournalEntry[] {
    return this.held;
  }

  /** Writes the held entries. */
  release(): void {
    if (this.held.length > 0) this.write(this.held.splice(0));
  }

  /** Writes entries numbered elsewhere (a snapshot's, after a crash): they must follow the last one. */
  appendNumbered(entries: readonly JournalEntry[]): void {
    if (entries.length === 0) return;
    if (entries[0]!.seq !== this.seq + 1) throw new Error(`${this.path}: entry ${entries[0]!.seq} cannot follow entry ${this.seq}`);
    this.write([...entries]);
    this.seq = entries.at(-1)!.seq;
  }

  close(): void {
    if (this.fd === null) return;
    this.release();
    closeSync(this.fd);
    this.fd = null;
  }

  private entry(type: string, fields: Record<string, unknown>, at: number): JournalEntry {
    if (this.fd === null) throw new Error(`the journal ${this.path} is closed`);
    return { seq: ++this.seq, at: new Date(at).toISOString(), type, ...maskedAsJson(fields, this.secrets) };
  }

  private write(entries: JournalEntry[]): void {
    if (this.fd === null) throw new Error(`the journal ${this.path} is closed`);
    writeSync(this.fd, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    fsyncSync(this.fd);
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
