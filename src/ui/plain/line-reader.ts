// Answers read line by line from a stream (stdin in plain mode). Lines that arrive before
// they are asked for wait in order, so a script can pipe all its answers at once. Past a
// few thousand waiting lines the stream is paused until they are asked for: an endless
// input (`yes | nightshift ...`, a paste gone wrong) is read as it is used, not hoarded.
import { createInterface, type Interface } from 'node:readline';

/** Waiting lines past which the input is paused. */
const MAX_QUEUED = 4096;

export class LineReader {
  private readonly queued: string[] = [];
  private readonly waiting: Array<(line: string | null) => void> = [];
  private ended = false;
  private readonly lines: Interface;
  private paused = false;

  constructor(input: NodeJS.ReadableStream) {
    const lines = createInterface({ input, crlfDelay: Infinity, terminal: false });
    this.lines = lines;
    lines.on('line', (line) => {
      const waiter = this.waiting.shift();
      if (waiter) return waiter(line);
      this.queued.push(line);
      if (this.queued.length >= MAX_QUEUED && !this.paused) {
        this.paused = true;
        lines.pause();
      }
    });
    // A terminal that is gone fails the read (EIO): the input has ended all the same.
    lines.on('error', () => lines.close());
    lines.on('close', () => {
      this.ended = true;
      for (const waiter of this.waiting.splice(0)) waiter(null);
    });
  }

  /** Waiting lines, for tests: bounded however much the input holds. */
  get queuedLines(): number {
    return this.queued.length;
  }

  private take(): string | undefined {
    const line = this.queued.shift();
    if (this.paused && this.queued.length < MAX_QUEUED / 2) {
      this.paused = false;
      this.lines.resume();
    }
    return line;
  }

  /** The next line, or null once the stream has ended. */
  next(): Promise<string | null> {
    const line = this.take();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /**
   * As `next`, but gives up with undefined when `signal` aborts first (the question went
   * away by itself); a line that arrives later is kept for the next caller.
   */
  nextUnless(signal: AbortSignal): Promise<string | null | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    const line = this.take();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter = (value: string | null) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        resolve(undefined);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }
}
