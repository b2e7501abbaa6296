// A fixed number of recent lines, each kept only as far as a screen can show it: memory stays
// flat however much a step prints and however long its lines. Readers poll `total` and take a
// tail; nothing is pushed to React per line.
//
// The lines are kept as UTF-8 bytes in one buffer outside V8's heap, not as strings. In a
// flood, a line lives in the ring for milliseconds, long enough to outlive a young-generation
// collection or two: as strings, every line shown was moved to the old generation and left
// there as garbage until the next full collection (1,000-character lines: 176 MiB peak for a
// million of them, 125 MiB with a ring that kept nothing). Strings are made again only for
// the lines a reader takes, a screen's worth ten times a second.

/** Wider than any terminal: what the screen can show of a line (the log keeps all of it). */
export const SHOWN_CHARS = 4096;
/** The buffer's first size; it doubles when the last `capacity` lines do not fit, up to MAX_BYTES. */
const FIRST_BYTES = 16 * 1024;
/** At most this much of the lines is kept: 2,000 lines of up to 512 bytes, fewer longer ones. */
export const MAX_BYTES = 2 ** 20;
/** The most one shown line can take in UTF-8: three bytes for each UTF-16 unit. */
const MAX_LINE_BYTES = 3 * SHOWN_CHARS;

/** The start of `text` the screen can show, never ending in half of a surrogate pair. */
export function shownPart(text: string): string {
  if (text.length <= SHOWN_CHARS) return text;
  const last = text.charCodeAt(SHOWN_CHARS - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? SHOWN_CHARS - 1 : SHOWN_CHARS);
}

export interface TailLine {
  text: string;
  stderr: boolean;
}

export class LineRing {
  /** Where each slot's line starts, as a count of bytes ever written (not an index into `bytes`). */
  private readonly starts: Float64Array;
  private readonly lengths: Int32Array;
  private readonly stderr: Uint8Array;
  private bytes: Buffer | null = null;
  /** Bytes ever written, counting the end of the buffer skipped when a line did not fit there. */
  private written = 0;
  /** The oldest line whose bytes have not been written over. */
  private firstIntact = 0;
  /** Lines ever pushed; also the version readers compare to know whether to redraw. */
  total = 0;

  /** `maxBytes`: how much of the lines is kept at most (smaller in tests, to see lines dropped). */
  constructor(
    readonly capacity = 2000,
    private readonly maxBytes = MAX_BYTES,
  ) {
    if (maxBytes < MAX_LINE_BYTES) throw new Error(`A line ring needs at least ${MAX_LINE_BYTES} bytes, not ${maxBytes}`);
    this.starts = new Float64Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.stderr = new Uint8Array(capacity);
  }

  push(text: string, isStderr: boolean): void {
    const shown = shownPart(text);
    const length = Buffer.byteLength(shown, 'utf8');
    const start = this.place(length);
    if (length > 0) this.bytes!.write(shown, start % this.bytes!.length, length, 'utf8');
    const slot = this.total % this.capacity;
    this.starts[slot] = start;
    this.lengths[slot] = length;
    this.stderr[slot] = isStderr ? 1 : 0;
    this.total++;
    this.forgetOverwritten();
  }

  /** Lines that were printed but never kept (a flood's chunk beyond what the ring holds): shown empty. */
  skip(count: number): void {
    for (let index = Math.max(this.total, this.total + count - this.capacity); index < this.total + count; index++) {
      const slot = index % this.capacity;
      this.starts[slot] = this.written;
      this.lengths[slot] = 0;
      this.stderr[slot] = 0;
    }
    this.total += count;
  }

  /** Many lines at once: only the last `capacity` of them are kept (and transformed), all are counted. */
  pushAll(texts: string[], isStderr: boolean, transform: (text: string) => string = (text) => text): void {
    const skipped = Math.max(0, texts.length - this.capacity);
    this.total += skipped;
    for (let index = skipped; index < texts.length; index++) this.push(transform(texts[index]!), isStderr);
  }

  /** The last `count` lines (fewer if not that many are kept), oldest first. */
  tail(count: number, skipFromEnd = 0): TailLine[] {
    const end = Math.max(0, this.total - skipFromEnd);
    const start = Math.max(end - count, this.firstKept);
    const lines: TailLine[] = [];
    for (let index = start; index < end; index++) {
      const slot = index % this.capacity;
      const length = this.lengths[slot]!;
      const at = length === 0 ? 0 : this.starts[slot]! % this.bytes!.length;
      lines.push({ text: length === 0 ? '' : this.bytes!.toString('utf8', at, at + length), stderr: this.stderr[slot] === 1 });
    }
    return lines;
  }

  /** How many of the last lines can be read back: `capacity`, fewer when they are long. */
  get retained(): number {
    return this.total - this.firstKept;
  }

  private get firstKept(): number {
    return Math.max(0, this.total - this.capacity, this.firstIntact);
  }

  /** Where a line of `length` bytes goes, in one piece: at the buffer's end, or at its start when it does not fit there. */
  private place(length: number): number {
    if (length === 0) return this.written;
    this.makeRoom(length);
    const size = this.bytes!.length;
    const offset = this.written % size;
    if (offset + length > size) this.written += size - offset;
    const start = this.written;
    this.written += length;
    return start;
  }

  /**
   * Grows the buffer (doubling, up to `maxBytes`) unless it holds the last `capacity` lines and
   * this one, with room for the end it may skip: about what they take, at most twice that.
   */
  private makeRoom(length: number): void {
    const needed = this.keptBytes() + 2 * length;
    let size = this.bytes?.length ?? 0;
    if (size >= needed || size >= this.maxBytes) return;
    while (size < needed && size < this.maxBytes) size = size === 0 ? FIRST_BYTES : size * 2;
    this.moveTo(Buffer.allocUnsafeSlow(Math.min(size, this.maxBytes)));
  }

  /** Bytes from the oldest of the last `capacity - 1` lines (the push drops one) to the end of what was written. */
  private keptBytes(): number {
    const from = Math.max(this.firstKept, this.total - this.capacity + 1);
    return from >= this.total ? 0 : this.written - this.starts[from % this.capacity]!;
  }

  /** Copies the kept lines into `bigger`, each at the same count of bytes written (its place modulo the new size). */
  private moveTo(bigger: Buffer): void {
    const old = this.bytes;
    if (old) {
      for (let index = this.firstKept; index < this.total; index++) {
        const slot = index % this.capacity;
        const length = this.lengths[slot]!;
        if (length === 0) continue;
        const from = this.starts[slot]! % old.length;
        const to = this.starts[slot]! % bigger.length;
        if (to + length <= bigger.length) old.copy(bigger, to, from, from + length);
        else {
          // Straddles the new end: it cannot be read in one piece there, so it is given up.
          this.firstIntact = index + 1;
        }
      }
    }
    this.bytes = bigger;
  }

  /** Lines whose bytes a later write went over are no longer kept, nor any line before them. */
  private forgetOverwritten(): void {
    const size = this.bytes?.length ?? 0;
    let index = this.firstKept;
    while (index < this.total && this.starts[index % this.capacity]! + size < this.written) index++;
    this.firstIntact = index;
  }
}
