// Where a step's output goes: the raw bytes to its log file, neutralized lines into a ring
// for the screen, and whole batches (one per chunk, never one call per line) to a listener.
import { closeSync, openSync, truncateSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { readLogTail } from '../store/log-tail.js';
import { LineRing, type TailLine } from './line-ring.js';
import { neutralize } from './neutralize.js';
import { outputCollection } from './young-collection.js';
import type { SecretMasker, StreamMasker } from './secret-mask.js';

/** A line longer than this is cut into pieces so one endless line cannot grow memory. */
const MAX_LINE = 16 * 1024;
const NEWLINE = 0x0a;

/**
 * An unfinished line as a terminal would hold it: a carriage return goes back to its start,
 * so only what follows the last one is still to be seen. One kept before it makes
 * neutralize() drop nothing more. A return at the very end may be the first half of a CRLF,
 * or a progress bar's way of ending its update: what stood before it is kept too.
 */
function afterLastReturn(partial: string): string {
  let at = partial.lastIndexOf('\r');
  if (at === partial.length - 1 && at > 0) at = partial.lastIndexOf('\r', at - 1);
  return at > 0 ? partial.slice(at) : partial;
}

export type LinesListener = (lines: string[], stderr: boolean) => void;

/** How far a long piece of work is, for a progress bar: `fraction` null when it cannot tell. */
export interface StepProgress {
  fraction: number | null;
  text: string;
}

class LineSplitter {
  private decoder = new StringDecoder('utf8');
  private partial = '';

  /**
   * `keep`: when set, a chunk's lines before its last `keep` are only counted (`skipped`),
   * never decoded: a flood's chunk holds thousands of lines that the ring would drop at once.
   */
  constructor(
    private readonly emit: (lines: string[]) => void,
    private readonly keep?: { lines: number; skipped(count: number): void },
  ) {}

  write(chunk: Buffer): void {
    if (this.keep) chunk = this.skipHead(chunk, this.keep);
    const text = this.partial + this.decoder.write(chunk);
    const lines = text.split('\n');
    // A progress bar rewrites its line a hundred thousand times without a newline: it stays one line.
    this.partial = afterLastReturn(lines.pop()!);
    while (this.partial.length > MAX_LINE) {
      lines.push(this.partial.slice(0, MAX_LINE));
      this.partial = this.partial.slice(MAX_LINE);
    }
    if (lines.length > 0) this.emit(lines);
  }

  private skipHead(chunk: Buffer, keep: { lines: number; skipped(count: number): void }): Buffer {
    // The newline that ends the last line to skip: keep.lines + 1 newlines from the end.
    let cut = chunk.length;
    for (let found = 0; found <= keep.lines; found++) {
      cut = cut > 0 ? chunk.lastIndexOf(NEWLINE, cut - 1) : -1;
      if (cut === -1) return chunk;
    }
    let skipped = 0;
    for (let at = chunk.indexOf(NEWLINE); at !== -1 && at <= cut; at = chunk.indexOf(NEWLINE, at + 1)) skipped++;
    keep.skipped(skipped);
    // The skipped part ended a line: what follows starts afresh (a newline is never inside a UTF-8 sequence).
    this.partial = '';
    this.decoder = new StringDecoder('utf8');
    return chunk.subarray(cut + 1);
  }

  /** The line written so far, not ended yet: a progress bar between its updates' newlines. */
  get pending(): string {
    return this.partial;
  }

  /** Text the next chunk continues (the unfinished last line of a continued log). */
  prime(text: string): void {
    this.partial = text;
  }

  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest.length > 0) this.emit([rest]);
  }
}

/**
 * How much of a step attempt's output its log already holds: the bytes each stream
 * delivered (the log is the two interleaved, so it holds stdout + stderr bytes). A
 * detached command is followed on from these offsets after a resume.
 */
export interface OutputOffsets {
  attempt: number;
  stdout: number;
  stderr: number;
  /** What the log holds, when secrets masked in it make that differ from stdout + stderr. */
  log?: number;
  /** The host said the detached command was started: following it again must never start it. */
  started?: true;
}

/** A revert armed around the step (`revert_after`), for the screen's countdown. */
export interface RevertShown {
  host: string;
  /** When it fires unless disarmed (local clock, ms). */
  deadline: number;
  state: 'armed' | 'confirming' | 'disarmed' | 'reverting' | 'reverted';
}

export class StepOutput {
  readonly ring: LineRing;
  /** What the log holds (secrets masked). */
  bytes = 0;
  /**
   * Bytes each stream delivered to the log (with those of the log's earlier part when it was
   * continued); bytes a secret masker holds back are counted once it passes them on.
   */
  stdoutBytes = 0;
  stderrBytes = 0;
  /** Set by effects that know how far they are (uploads); read by the screen when it redraws. */
  progress: StepProgress | null = null;
  /** Set by a step with revert_after; read by the screen when it redraws. */
  revert: RevertShown | null = null;
  /** Set once the host said the detached command of this attempt was started. */
  startedOnHost = false;
  /** Written synchronously: a stream would buffer without bound when a flood outruns the disk. */
  private file: number | null;
  private readonly stdout: LineSplitter;
  private readonly stderr: LineSplitter;
  private readonly masks: { stdout: StreamMasker; stderr: StreamMasker } | null;
  private closed?: Promise<void>;
  private lastWrittenStderr = false;

  constructor(
    readonly path: string,
    private readonly options: {
      ringCapacity?: number;
      onLines?: LinesListener;
      onClosed?: (output: StepOutput) => void;
      /** Goes on with a log that holds this much (anything after it is cut off: it comes again). */
      continueAt?: { stdout: number; stderr: number; log?: number };
      /** The run's secrets: masked before anything is written, shown or passed on. */
      secrets?: SecretMasker;
    } = {},
  ) {
    this.ring = new LineRing(options.ringCapacity);
    // One file per attempt; an attempt followed again after a resume goes on where its log was saved.
    const from = options.continueAt;
    if (from) {
      const log = from.log ?? from.stdout + from.stderr;
      truncateSync(path, log);
      this.file = openSync(path, 'a');
      this.stdoutBytes = from.stdout;
      this.stderrBytes = from.stderr;
      this.bytes = log;
    } else this.file = openSync(path, 'w');
    const secrets = options.secrets && !options.secrets.empty ? options.secrets : null;
    this.masks = secrets ? { stdout: secrets.stream(), stderr: secrets.stream() } : null;
    const deliver = (stderr: boolean) => (lines: string[]) => {
      if (options.onLines) {
        const safe = lines.map(neutralize);
        this.ring.pushAll(safe, stderr);
        options.onLines(safe, stderr);
      } else {
        // Only the lines the ring keeps are worth cleaning; the rest are counted.
        this.ring.pushAll(lines, stderr, neutralize);
      }
    };
    // Plain mode prints every line; the screen needs only what the ring keeps.
    const keep = options.onLines ? undefined : { lines: this.ring.capacity, skipped: (count: number) => this.ring.skip(count) };
    this.stdout = new LineSplitter(deliver(false), keep);
    this.stderr = new LineSplitter(deliver(true), keep);
    if (from && this.bytes > 0) this.showEarlier();
  }

  /** A continued log's end goes to the screen, and its lines are counted, as if they had just been printed. */
  private showEarlier(): void {
    const { text, linesBefore } = readLogTail(this.path, this.ring.capacity, { countBefore: true });
    const lines = text.split('\n');
    // A last line without its newline is continued by what comes next (most likely on stdout).
    const partial = lines.pop()!;
    this.ring.skip(linesBefore);
    this.ring.pushAll(lines, false, neutralize);
    if (partial !== '') this.stdout.prime(partial);
  }

  get lines(): number {
    return this.ring.total;
  }

  /**
   * The line the command is writing, not ended yet (a progress bar, a prompt), as the screen
   * shows it below the ended ones; null when the stream written last has none.
   */
  get partialLine(): TailLine | null {
    const pending = (this.lastWrittenStderr ? this.stderr : this.stdout).pending;
    if (pending === '') return null;
    const text = neutralize(pending);
    return text === '' ? null : { text, stderr: this.lastWrittenStderr };
  }

  write(chunk: Buffer, stderr = false): void {
    outputCollection.received(chunk.length);
    let passed = chunk;
    let counted = chunk.length;
    const mask = this.masks?.[stderr ? 'stderr' : 'stdout'];
    if (mask) {
      const heldBefore = mask.heldBytes;
      passed = mask.write(chunk);
      counted += heldBefore - mask.heldBytes;
    }
    if (stderr) this.stderrBytes += counted;
    else this.stdoutBytes += counted;
    this.pass(passed, stderr);
  }

  private pass(chunk: Buffer, stderr: boolean): void {
    if (chunk.length === 0) return;
    this.lastWrittenStderr = stderr;
    if (this.file !== null) this.log(chunk);
    (stderr ? this.stderr : this.stdout).write(chunk);
  }

  /**
   * A log that cannot take more (a full disk, a failing one) stops where it is: the command
   * goes on on its host, and its output on the screen, which says the log stopped and why.
   */
  private log(chunk: Buffer): void {
    let written = 0;
    try {
      while (written < chunk.length) written += writeSync(this.file!, chunk, written);
    } catch (error) {
      this.bytes += written;
      const file = this.file!;
      this.file = null;
      try {
        closeSync(file);
      } catch {
        // Closing is all that is left to do with it.
      }
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOSPC' ? 'no space left on the device' : code === 'EDQUOT' ? 'over the disk quota' : ((error as Error).message ?? String(error));
      this.note(`nightshift: the log ${this.path} stopped at ${this.bytes} bytes (${why}): what follows is shown, not kept`);
      return;
    }
    this.bytes += written;
  }

  /** A line of nightshift's own about the step: shown with the output, but not written to the log, which holds only what the command printed. */
  note(text: string): void {
    const line = neutralize(this.options.secrets?.maskText(text) ?? text);
    this.ring.push(line, true);
    this.options.onLines?.([line], true);
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.masks) {
        for (const stream of ['stdout', 'stderr'] as const) {
          const held = this.masks[stream].heldBytes;
          this.pass(this.masks[stream].end(), stream === 'stderr');
          if (stream === 'stderr') this.stderrBytes += held;
          else this.stdoutBytes += held;
        }
      }
      this.stdout.end();
      this.stderr.end();
      const file = this.file;
      this.file = null;
      if (file !== null) closeSync(file);
      this.options.onClosed?.(this);
    })();
    return this.closed;
  }
}
