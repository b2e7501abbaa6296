// A fixed number of recent lines, overwritten in place, each kept only as far as a screen
// can show it: memory stays flat however much a step prints and however long its lines. Readers poll `total` and take a tail; nothing is pushed to React per line.

/** Wider than any terminal: what the screen can show of a line (the log keeps all of it). */
export const SHOWN_CHARS = 4096;
/** V8 makes a substring this long or longer a view into its parent string instead of a copy. */
const SLICED_MIN_LENGTH = 13;

/**
 * The start of `text` the screen can show, as a string of its own: a line split from a
 * chunk's text is a view that keeps the whole chunk alive, and 2,000 of them kept the
 * chunks of an endless line (hundreds of MiB). Prepending a character and slicing it off
 * makes V8 copy the line into a string of its own length.
 */
export function retainedCopy(text: string): string {
  const shown = text.length > SHOWN_CHARS ? text.slice(0, SHOWN_CHARS) : text;
  return shown.length < SLICED_MIN_LENGTH ? shown : ` ${shown}`.slice(1);
}

export interface TailLine {
  text: string;
  stderr: boolean;
}

export class LineRing {
  private readonly texts: string[];
  private readonly stderr: Uint8Array;
  /** Lines ever pushed; also the version readers compare to know whether to redraw. */
  total = 0;

  constructor(readonly capacity = 2000) {
    this.texts = new Array<string>(capacity).fill('');
    this.stderr = new Uint8Array(capacity);
  }

  push(text: string, isStderr: boolean): void {
    const slot = this.total % this.capacity;
    this.texts[slot] = retainedCopy(text);
    this.stderr[slot] = isStderr ? 1 : 0;
    this.total++;
  }

  /** Lines that were printed but never kept (a flood's chunk beyond what the ring holds). */
  skip(count: number): void {
    this.total += count;
  }

  /** Many lines at once: only the last `capacity` of them are kept (and transformed), all are counted. */
  pushAll(texts: string[], isStderr: boolean, transform: (text: string) => string = (text) => text): void {
    const skipped = Math.max(0, texts.length - this.capacity);
    this.total += skipped;
    for (let index = skipped; index < texts.length; index++) this.push(transform(texts[index]!), isStderr);
  }

  /** The last `count` lines (fewer if not that many were pushed), oldest first. */
  tail(count: number, skipFromEnd = 0): TailLine[] {
    const end = Math.max(0, this.total - skipFromEnd);
    const start = Math.max(end - count, this.total - this.capacity, 0);
    const lines: TailLine[] = [];
    for (let index = start; index < end; index++) {
      const slot = index % this.capacity;
      lines.push({ text: this.texts[slot]!, stderr: this.stderr[slot] === 1 });
    }
    return lines;
  }

  get retained(): number {
    return Math.min(this.total, this.capacity);
  }
}
