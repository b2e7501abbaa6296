// A bracketed paste (ESC[200~ ... ESC[201~) from a helper's terminal, bounded before it
// reaches Ink: Ink holds a paste until its end mark arrives, so a paste that never ends (or
// a huge one) would otherwise grow without limit in nightshift's memory. The marks pass,
// and at most `max` bytes of what is between them; everything else passes untouched, at
// once (an Escape key must not wait for the next key).

const START = Buffer.from('\x1b[200~');
const END = Buffer.from('\x1b[201~');
const EMPTY = Buffer.alloc(0);

/** Keeps the first bytes of every paste (enough for one chat message and more). */
export const MAX_PASTE_BYTES = 16 * 1024;

export class PasteLimiter {
  readonly #max: number;
  #inside = false;
  #kept = 0;
  /** Outside a paste: the last bytes already passed on, where a start mark may have begun. */
  #passedTail = EMPTY;
  /** Inside a paste: bytes held back because an end mark may begin with them. */
  #held = EMPTY;

  constructor(max = MAX_PASTE_BYTES) {
    this.#max = max;
  }

  /** Whether a paste has started and not ended. */
  get inPaste(): boolean {
    return this.#inside;
  }

  /** What of `chunk` goes on to the terminal's reader. */
  filter(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let index = 0;
    while (index < chunk.length) {
      index = this.#inside ? this.#insidePaste(chunk, index, out) : this.#outsidePaste(chunk, index, out);
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  #outsidePaste(chunk: Buffer, from: number, out: Buffer[]): number {
    const tail = this.#passedTail;
    const search = tail.length > 0 ? Buffer.concat([tail, chunk.subarray(from)]) : chunk.subarray(from);
    const at = search.indexOf(START);
    if (at === -1) {
      out.push(chunk.subarray(from));
      this.#passedTail = Buffer.from(search.subarray(Math.max(0, search.length - (START.length - 1))));
      return chunk.length;
    }
    const afterMark = from + at + START.length - tail.length;
    out.push(chunk.subarray(from, afterMark));
    this.#passedTail = EMPTY;
    this.#inside = true;
    this.#kept = 0;
    return afterMark;
  }

  #insidePaste(chunk: Buffer, from: number, out: Buffer[]): number {
    const held = this.#held;
    const search = held.length > 0 ? Buffer.concat([held, chunk.subarray(from)]) : chunk.subarray(from);
    this.#held = EMPTY;
    const at = search.indexOf(END);
    if (at === -1) {
      const keep = partialMark(search, END);
      this.#content(search.subarray(0, search.length - keep), out);
      this.#held = Buffer.from(search.subarray(search.length - keep));
      return chunk.length;
    }
    this.#content(search.subarray(0, at), out);
    out.push(END);
    this.#inside = false;
    return from + at + END.length - held.length;
  }

  #content(bytes: Buffer, out: Buffer[]): void {
    const room = this.#max - this.#kept;
    if (room <= 0 || bytes.length === 0) return;
    const part = bytes.subarray(0, room);
    out.push(part);
    this.#kept += part.length;
  }
}

/** How many of the last bytes of `data` are the beginning of `mark`. */
function partialMark(data: Buffer, mark: Buffer): number {
  for (let length = Math.min(mark.length - 1, data.length); length > 0; length--) {
    if (data.subarray(data.length - length).equals(mark.subarray(0, length))) return length;
  }
  return 0;
}
