// Where a step's output goes: the raw bytes to its log file, neutralized lines into a ring
// for the screen, and whole batches (one per chunk, never one call per line) to a listener.
import { closeSync, openSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { LineRing } from './line-ring.js';
import { neutralize } from './neutralize.js';

/** A line longer than this is cut into pieces so one endless line cannot grow memory. */
const MAX_LINE = 16 * 1024;
const NEWLINE = 0x0a;

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
    this.partial = lines.pop()!;
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

  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest.length > 0) this.emit([rest]);
  }
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
  bytes = 0;
  /** Set by effects that know how far they are (uploads); read by the screen when it redraws. */
  progress: StepProgress | null = null;
  /** Set by a step with revert_after; read by the screen when it redraws. */
  revert: RevertShown | null = null;
  /** Written synchronously: a stream would buffer without bound when a flood outruns the disk. */
  private file: number | null;
  private readonly stdout: LineSplitter;
  private readonly stderr: LineSplitter;
  private closed?: Promise<void>;

  constructor(
    readonly path: string,
    private readonly options: { ringCapacity?: number; onLines?: LinesListener; onClosed?: (output: StepOutput) => void } = {},
  ) {
    this.ring = new LineRing(options.ringCapacity);
    // One file per attempt; an attempt followed again after a resume rewrites it from the start.
    this.file = openSync(path, 'w');
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
  }

  get lines(): number {
    return this.ring.total;
  }

  write(chunk: Buffer, stderr = false): void {
    this.bytes += chunk.length;
    if (this.file !== null) writeSync(this.file, chunk);
    (stderr ? this.stderr : this.stdout).write(chunk);
  }

  /** A line of nightshift's own about the step: shown with the output, but not written to the log, which holds only what the command printed. */
  note(text: string): void {
    const line = neutralize(text);
    this.ring.push(line, true);
    this.options.onLines?.([line], true);
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
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
