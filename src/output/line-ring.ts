// A fixed number of recent lines, overwritten in place: memory stays flat however much a
// step prints. Readers poll `total` and take a tail; nothing is pushed to React per line.

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
    this.texts[slot] = text;
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
