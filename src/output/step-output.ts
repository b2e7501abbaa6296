// Where a step's output goes: the raw bytes to its log file, neutralized lines into a ring
// for the screen, and whole batches (one per chunk, never one call per line) to a listener.
import { closeSync, openSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { LineRing } from './line-ring.js';
import { neutralize } from './neutralize.js';

/** A line longer than this is cut into pieces so one endless line cannot grow memory. */
const MAX_LINE = 16 * 1024;

export type LinesListener = (lines: string[], stderr: boolean) => void;

/** How far a long piece of work is, for a progress bar: `fraction` null when it cannot tell. */
export interface StepProgress {
  fraction: number | null;
  text: string;
}

class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly emit: (lines: string[]) => void) {}

  write(chunk: Buffer): void {
    const text = this.partial + this.decoder.write(chunk);
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    while (this.partial.length > MAX_LINE) {
      lines.push(this.partial.slice(0, MAX_LINE));
      this.partial = this.partial.slice(MAX_LINE);
    }
    if (lines.length > 0) this.emit(lines);
  }

  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest.length > 0) this.emit([rest]);
  }
}

export class StepOutput {
  readonly ring: LineRing;
  bytes = 0;
  /** Set by effects that know how far they are (uploads); read by the screen when it redraws. */
  progress: StepProgress | null = null;
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
    this.stdout = new LineSplitter(deliver(false));
    this.stderr = new LineSplitter(deliver(true));
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
