// The append-only record of a session, one JSON object per line. Every entry is written
// and fsynced before the call returns (a held one: when released): entries are few
// (steps, decisions, confirmations), output goes to per-step files and the journal only
// references them.
//
// Every entry is of a type declared in journal-entries.ts and is checked against its schema
// as it is written. With NIGHTSHIFT_JOURNAL_STRICT=1 (every test run) an entry that does not
// match throws; otherwise it is written all the same (the record of a night is never lost
// to a schema) and followed by a `journal.invalid` entry saying what was wrong, which the
// report shows.
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { fileErrorText } from './file-error.js';
import { checkEntry, type EntryFields, type EntryType, type JournalEntry } from './journal-entries.js';

export type { EntryFields, EntryType, JournalEntry, JournalEntryOf } from './journal-entries.js';

/** Set to 1: an entry that does not match its schema is an error rather than a `journal.invalid` entry. */
export const JOURNAL_STRICT_ENV = 'NIGHTSHIFT_JOURNAL_STRICT';

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

/** The journal could not be written (a full disk), could again, or was closed with entries it never took. */
export type JournalTrouble =
  | { kind: 'failed'; file: string; error: string }
  | { kind: 'recovered'; file: string; entries: number }
  | { kind: 'lost'; file: string; entries: number; error: string };

/** The sentence for the upgrader. */
export function journalTroubleText(trouble: JournalTrouble): string {
  if (trouble.kind === 'recovered') return `the journal ${trouble.file} is written again (${trouble.entries} entries it had kept are in it now).`;
  if (trouble.kind === 'lost')
    return `the journal ${trouble.file} never took its last ${trouble.entries} entries (${trouble.error}): the record of this run ends before them; a resume starts from what was saved.`;
  return (
    `could not write the journal ${trouble.file} (${trouble.error}): the run goes on and keeps its entries until the journal takes them; ` +
    'free space in that folder: the next entry writes them all.'
  );
}

export class Journal {
  private fd: number | null;
  private readonly held: JournalEntry[] = [];
  private readonly listeners = new Set<(entry: JournalEntry) => void>();
  private readonly troubleListeners = new Set<(trouble: JournalTrouble) => void>();
  /** Numbered entries the file could not take (a full disk): they go first, with the next write. */
  private unwritten: JournalEntry[] = [];
  /** Bytes of whole entries in the file: a write that failed half way is cut back to it. */
  private size = 0;
  private failure: string | null = null;
  /** The run's secrets: masked in every entry before it is numbered, held or written. */
  secrets?: TextMasker;

  /** `seq`: the last entry's number when appending to an existing journal. */
  constructor(
    readonly path: string,
    private seq = 0,
  ) {
    this.fd = openSync(path, 'a+', 0o600);
    this.endLastLine(this.fd);
    this.size = fstatSync(this.fd).size;
  }

  /** Whether entries are waiting for the file to take them. */
  get failing(): boolean {
    return this.failure !== null;
  }

  /** Hears the first failure of each stretch, the recovery after it, and entries lost at close; returns the unsubscribe function. */
  onTrouble(listener: (trouble: JournalTrouble) => void): () => void {
    this.troubleListeners.add(listener);
    return () => this.troubleListeners.delete(listener);
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

  append<T extends EntryType>(type: T, fields: EntryFields<T>, at = Date.now()): JournalEntry {
    const entry = this.entry(type, fields, at);
    this.write([...this.held.splice(0), entry]);
    return entry;
  }

  /**
   * Numbers an entry but holds it back until `release` (or the next append, which keeps
   * the numbers in order): the machine's entries wait for the snapshot that holds them
   * too, so a crash between the two leaves them in the snapshot, never in the journal alone.
   */
  hold<T extends EntryType>(type: T, fields: EntryFields<T>, at = Date.now()): JournalEntry {
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

  /** Every entry once it is on disk, in order (the --json stream). */
  onWritten(listener: (entry: JournalEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.fd === null) return;
    this.release();
    if (this.unwritten.length > 0) this.write([]);
    const lost = this.unwritten.length;
    closeSync(this.fd);
    this.fd = null;
    if (lost > 0) this.tell({ kind: 'lost', file: this.path, entries: lost, error: this.failure ?? 'not written' });
  }

  private entry<T extends EntryType>(type: T, fields: EntryFields<T>, at: number): JournalEntry {
    if (this.fd === null) throw new Error(`the journal ${this.path} is closed`);
    const entry = { seq: ++this.seq, at: new Date(at).toISOString(), type, ...maskedAsJson(fields, this.secrets) } as unknown as JournalEntry;
    const check = checkEntry(JSON.parse(JSON.stringify(entry)), true);
    if (check.ok) return entry;
    const problem = `${this.path}: entry ${entry.seq} (${type}) does not match its schema in src/store/journal-entries.ts: ${check.problem}`;
    if (process.env[JOURNAL_STRICT_ENV] === '1') {
      --this.seq;
      throw new Error(problem);
    }
    this.invalid.push({ seq: entry.seq, type, problem: check.problem });
    return entry;
  }

  /** Entries that did not match their schema, to be followed by a `journal.invalid` entry each once written. */
  private readonly invalid: Array<{ seq: number; type: string; problem: string }> = [];

  private write(entries: JournalEntry[]): void {
    if (this.fd === null) throw new Error(`the journal ${this.path} is closed`);
    const written = [...entries];
    const lastSeq = entries.at(-1)?.seq ?? 0;
    // An invalid entry held back is told about once it is written; the note must follow the batch and be numbered after it.
    for (const bad of this.invalid.filter((candidate) => candidate.seq <= lastSeq && lastSeq === this.seq)) {
      this.invalid.splice(this.invalid.indexOf(bad), 1);
      written.push({ seq: ++this.seq, at: new Date().toISOString(), type: 'journal.invalid', entrySeq: bad.seq, entryType: bad.type, problem: bad.problem });
    }
    const batch = [...this.unwritten, ...written];
    const text = Buffer.from(batch.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    try {
      for (let done = 0; done < text.length; ) done += writeSync(this.fd, text, done);
      fsyncSync(this.fd);
    } catch (error) {
      // What part of the batch reached the file is cut off again: it comes whole with the next write.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // Left as it is, the torn line is one a reader leaves out and reports.
      }
      this.unwritten = batch;
      if (this.failure === null) {
        this.failure = fileErrorText(error);
        this.tell({ kind: 'failed', file: this.path, error: this.failure });
      }
      return;
    }
    this.size += text.length;
    this.unwritten = [];
    if (this.failure !== null) {
      this.failure = null;
      this.tell({ kind: 'recovered', file: this.path, entries: batch.length });
    }
    for (const entry of batch) for (const listener of this.listeners) listener(entry);
  }

  private tell(trouble: JournalTrouble): void {
    for (const listener of [...this.troubleListeners]) listener(trouble);
  }
}

export interface JournalReading {
  entries: JournalEntry[];
  /** A last line that was being written when the program died: left out, and reported. */
  torn?: { line: number; text: string };
  /** Whole lines that are no entry this nightshift knows: left out of `entries`, each said in `message`. */
  problems?: JournalProblem[];
}

export interface JournalProblem {
  line: number;
  type: string;
  /** The entry type is unknown (a newer nightshift wrote it), rather than known with fields not as declared. */
  unknownType: boolean;
  /** "FILE:LINE: ...": what the line is, what is wrong, and what it means for the reader. */
  message: string;
  /** The line as it was read, when it has a number and a time (a report shows an unknown entry as it is). */
  entry?: { seq: number; at: string; type: string; [field: string]: unknown };
}

/**
 * Reads a journal. Only the last line may be torn (a crash while it was written); a
 * broken line anywhere else means the file was damaged, and that is an error. A whole line
 * that is no entry this nightshift knows is left out and listed in `problems`: each reader
 * decides what it means (the report and `sessions` go on and say so, resume refuses an
 * unknown entry type).
 */
export function readJournalChecked(file: string): JournalReading {
  const lines = readFileSync(file, 'utf8').split('\n');
  const entries: JournalEntry[] = [];
  const problems: JournalProblem[] = [];
  let torn: JournalReading['torn'];
  lines.forEach((text, index) => {
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      const isLast = lines.slice(index + 1).every((rest) => rest.trim() === '');
      if (!isLast) throw new Error(`${file}:${index + 1}: the journal is damaged: this line is not a journal entry.`);
      torn = { line: index + 1, text };
      return;
    }
    const check = checkEntry(value);
    if (check.ok) {
      entries.push(check.entry);
      return;
    }
    const what = check.unknownType
      ? `an entry of type "${check.type}", which this version of nightshift does not know (a newer one wrote it?): read this session with the nightshift that wrote it`
      : `an entry of type "${check.type}" that is not as that type is written (${check.problem}): it was written by another version of nightshift, or the file was edited`;
    const raw = value as Record<string, unknown>;
    const entry = typeof raw['seq'] === 'number' && typeof raw['at'] === 'string' ? { ...raw, seq: raw['seq'], at: raw['at'], type: check.type } : undefined;
    problems.push({
      line: index + 1,
      type: check.type,
      unknownType: check.unknownType,
      message: `${file}:${index + 1}: ${what}.`,
      ...(entry ? { entry } : {}),
    });
  });
  return { entries, ...(torn ? { torn } : {}), ...(problems.length > 0 ? { problems } : {}) };
}

/** The entries of a journal that this nightshift knows (see readJournalChecked for what is left out). */
export function readJournal(file: string): JournalEntry[] {
  return readJournalChecked(file).entries;
}
