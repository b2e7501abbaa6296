// Answers read line by line from a stream (stdin in plain mode). Lines that arrive before
// they are asked for wait in order, so a script can pipe all its answers at once.
import { createInterface } from 'node:readline';

export class LineReader {
  private readonly queued: string[] = [];
  private readonly waiting: Array<(line: string | null) => void> = [];
  private ended = false;

  constructor(input: NodeJS.ReadableStream) {
    const lines = createInterface({ input, crlfDelay: Infinity, terminal: false });
    lines.on('line', (line) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter(line);
      else this.queued.push(line);
    });
    // A terminal that is gone fails the read (EIO): the input has ended all the same.
    lines.on('error', () => lines.close());
    lines.on('close', () => {
      this.ended = true;
      for (const waiter of this.waiting.splice(0)) waiter(null);
    });
  }

  /** The next line, or null once the stream has ended. */
  next(): Promise<string | null> {
    const line = this.queued.shift();
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
    const line = this.queued.shift();
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
