// Masks the values of a run's secrets wherever text leaves nightshift's hands: step output
// (as a stream, where a value may arrive split across chunks), journal entries, snapshots,
// chat. A value becomes «secret NAME». Works on bytes, so a value split inside a UTF-8
// character is still found.

export interface SecretValue {
  name: string;
  value: string;
}

interface Needle {
  text: string;
  bytes: Buffer;
  mask: Buffer;
}

export function maskOf(name: string): string {
  return `«secret ${name}»`;
}

export class SecretMasker {
  private readonly needles: Needle[];
  /** Longest value in bytes: at most this minus one bytes are held back at a chunk's end. */
  readonly longest: number;

  constructor(secrets: readonly SecretValue[]) {
    // Longest first: where two values start at the same byte, the longer is masked whole.
    this.needles = secrets
      .filter((secret) => secret.value.length > 0)
      .map((secret) => ({ text: secret.value, bytes: Buffer.from(secret.value, 'utf8'), mask: Buffer.from(maskOf(secret.name), 'utf8') }))
      .sort((a, b) => b.bytes.length - a.bytes.length);
    this.longest = this.needles.reduce((most, needle) => Math.max(most, needle.bytes.length), 0);
  }

  get empty(): boolean {
    return this.needles.length === 0;
  }

  /** `text` with every value masked (a mask is never searched again). */
  maskText(text: string): string {
    if (this.empty || text.length === 0) return text;
    if (!this.needles.some((needle) => text.includes(needle.text))) return text;
    const stream = this.stream();
    return Buffer.concat([stream.write(Buffer.from(text, 'utf8')), stream.end()]).toString('utf8');
  }

  /** Every string inside `value` (objects, arrays) masked; other values as they are. */
  maskDeep<T>(value: T): T {
    if (this.empty) return value;
    return maskValue(value, (text) => this.maskText(text)) as T;
  }

  /** A masker for one stream of bytes. */
  stream(): StreamMasker {
    return new StreamMasker(this.needles, this.longest);
  }
}

/** `value` with its strings masked; what holds no value is returned as it is (the same object). */
function maskValue(value: unknown, mask: (text: string) => string): unknown {
  if (typeof value === 'string') return mask(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => maskValue(item, mask));
    return items.some((item, index) => item !== value[index]) ? items : value;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    const masked = entries.map(([key, item]) => [key, maskValue(item, mask)] as const);
    return masked.some(([, item], index) => item !== entries[index]![1]) ? Object.fromEntries(masked) : value;
  }
  return value;
}

/**
 * One stream's masker. `write` returns what can be passed on now; the end of a chunk that
 * could be the start of a value is held back until the next chunk (or `end`) tells.
 */
export class StreamMasker {
  private held: Buffer = Buffer.alloc(0);

  constructor(
    private readonly needles: readonly Needle[],
    private readonly longest: number,
  ) {}

  /** Bytes received and not passed on yet. */
  get heldBytes(): number {
    return this.held.length;
  }

  write(chunk: Buffer): Buffer {
    if (this.needles.length === 0) return chunk;
    const data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const { out, rest, undecided } = this.scan(data);
    const hold = undecided ? rest.length : this.partialAtEnd(rest);
    this.held = Buffer.from(rest.subarray(rest.length - hold));
    const free = rest.subarray(0, rest.length - hold);
    return out.length === 0 ? free : Buffer.concat([...out, free]);
  }

  /** What was held back: no value can complete it any more. */
  end(): Buffer {
    const rest = this.held;
    this.held = Buffer.alloc(0);
    if (rest.length === 0) return rest;
    // A shorter value may be whole in what was held for a longer one.
    const { out, rest: after } = this.scan(rest, true);
    return Buffer.concat([...out, after]);
  }

  /**
   * Masks every whole value in `data`; `rest` is the part after the last one. `undecided`:
   * `rest` starts with a value that a longer one, cut off by the end of `data`, may extend.
   */
  private scan(data: Buffer, final = false): { out: Buffer[]; rest: Buffer; undecided: boolean } {
    const out: Buffer[] = [];
    let from = 0;
    for (;;) {
      let at = -1;
      let found: Needle | null = null;
      for (const needle of this.needles) {
        const index = data.indexOf(needle.bytes, from);
        // Needles are longest first: a later one at the same index is shorter.
        if (index !== -1 && (at === -1 || index < at)) {
          at = index;
          found = needle;
        }
      }
      if (found === null) break;
      const available = data.length - at;
      const longerMayFollow =
        !final &&
        this.needles.some(
          (needle) =>
            needle.bytes.length > found.bytes.length && needle.bytes.length > available && needle.bytes.subarray(0, available).equals(data.subarray(at)),
        );
      if (longerMayFollow) {
        out.push(data.subarray(from, at));
        return { out, rest: data.subarray(at), undecided: true };
      }
      out.push(data.subarray(from, at), found.mask);
      from = at + found.bytes.length;
    }
    return { out, rest: data.subarray(from), undecided: false };
  }

  /** How many bytes at the end of `data` are the start of some value. */
  private partialAtEnd(data: Buffer): number {
    for (let length = Math.min(this.longest - 1, data.length); length > 0; length--) {
      const tail = data.subarray(data.length - length);
      if (this.needles.some((needle) => needle.bytes.length > length && needle.bytes.subarray(0, length).equals(tail))) return length;
    }
    return 0;
  }
}
