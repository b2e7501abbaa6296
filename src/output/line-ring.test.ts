// What the ring keeps of long lines, that it keeps nothing else (a line split from a big
// chunk of text must not hold on to the chunk, nor stay in V8's heap), and that what it gives
// back is what was pushed, whatever the lines' lengths and characters.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { LineRing, MAX_BYTES, SHOWN_CHARS, shownPart } from './line-ring.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function heapUsedMiB(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const texts = (ring: LineRing, count = ring.capacity, skipFromEnd = 0) => ring.tail(count, skipFromEnd).map((line) => line.text);

/** A small deterministic generator, so that a failure can be run again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('shownPart', () => {
  it('keeps a line as it is up to what a screen can show, and its start beyond that', () => {
    expect(shownPart('')).toBe('');
    expect(shownPart('short')).toBe('short');
    const wide = 'é'.repeat(SHOWN_CHARS);
    expect(shownPart(wide)).toBe(wide);
    expect(shownPart(`${wide}and more`)).toBe(wide);
  });

  it('does not cut a character outside the Basic Multilingual Plane in half', () => {
    const line = `${'a'.repeat(SHOWN_CHARS - 1)}😀 and more`;
    expect(shownPart(line)).toBe('a'.repeat(SHOWN_CHARS - 1));
  });
});

describe('LineRing', () => {
  it('gives back each line as pushed: any characters, empty lines, stderr marks', () => {
    const ring = new LineRing(10);
    const lines = ['', 'plain', 'é€😀 wide and astral', '\u0000\u001b[31mcontrols kept as given', '', 'last'];
    lines.forEach((line, index) => ring.push(line, index % 2 === 1));
    expect(ring.tail(10)).toEqual(lines.map((text, index) => ({ text, stderr: index % 2 === 1 })));
    expect(ring.retained).toBe(6);
  });

  it('shows skipped lines as empty, and counts them', () => {
    const ring = new LineRing(4);
    ring.push('before', false);
    ring.skip(2);
    ring.push('after', true);
    expect(ring.total).toBe(4);
    expect(ring.tail(10)).toEqual([
      { text: 'before', stderr: false },
      { text: '', stderr: false },
      { text: '', stderr: false },
      { text: 'after', stderr: true },
    ]);
    ring.skip(1_000_000);
    expect(ring.total).toBe(1_000_004);
    expect(texts(ring)).toEqual(['', '', '', '']);
  });

  it('refuses a byte bound smaller than the longest line it may have to keep', () => {
    expect(() => new LineRing(10, 3 * SHOWN_CHARS - 1)).toThrow(/at least 12288 bytes/);
    const ring = new LineRing(10, 3 * SHOWN_CHARS);
    const widest = '€'.repeat(SHOWN_CHARS);
    ring.push(widest, false);
    ring.push(widest, true);
    expect(ring.tail(10)).toEqual([{ text: widest, stderr: true }]);
  });

  it('keeps fewer than `capacity` long lines, never more than MAX_BYTES of them, and the newest always', () => {
    const ring = new LineRing(2000);
    const line = (index: number) => `${String(index).padStart(8, '0')}${'y'.repeat(SHOWN_CHARS - 8)}`;
    for (let index = 0; index < 3000; index++) ring.push(line(index), false);
    const perLine = SHOWN_CHARS;
    expect(ring.retained).toBeLessThanOrEqual(Math.floor(MAX_BYTES / perLine));
    expect(ring.retained).toBeGreaterThanOrEqual(Math.floor(MAX_BYTES / perLine) - 2);
    const kept = texts(ring);
    expect(kept).toEqual(Array.from({ length: ring.retained }, (_, offset) => line(3000 - ring.retained + offset)));
  });

  it('matches a plain list of the last lines through thousands of pushes of random lengths, skips and reads', () => {
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      const capacity = 1 + Math.floor(next() * 300);
      // Small enough that long lines push the oldest out before `capacity` is reached.
      const ring = new LineRing(capacity, 3 * SHOWN_CHARS + Math.floor(next() * 64 * 1024));
      const all: string[] = [];
      for (let step = 0; step < 5000; step++) {
        const roll = next();
        if (roll < 0.02) {
          const count = Math.floor(next() * 3 * capacity);
          ring.skip(count);
          for (let index = 0; index < count; index++) all.push('');
        } else {
          // Mostly short lines, some long ones: the buffer grows, wraps and drops lines.
          const length = roll < 0.1 ? Math.floor(next() * 2 * SHOWN_CHARS) : Math.floor(next() * 120);
          const text = `${all.length}:${'é€x'.repeat(Math.ceil(length / 3)).slice(0, length)}`;
          ring.push(text, roll < 0.5);
          all.push(shownPart(text));
        }
        expect(ring.total).toBe(all.length);
        expect(ring.retained).toBeLessThanOrEqual(Math.min(capacity, all.length));
        if (step % 7 === 0) {
          const count = 1 + Math.floor(next() * capacity);
          const skipFromEnd = Math.floor(next() * 5);
          const got = texts(ring, count, skipFromEnd);
          const end = all.length - skipFromEnd;
          expect(got).toEqual(all.slice(Math.max(0, end - got.length), Math.max(0, end)));
          expect(got.length).toBe(Math.max(0, Math.min(count, end - (all.length - ring.retained))));
        }
      }
      // Short lines fit: all of the last `capacity` are kept once the long ones have passed.
      for (let index = 0; index < capacity; index++) {
        ring.push(`short ${index}`, false);
        all.push(`short ${index}`);
      }
      expect(texts(ring)).toEqual(all.slice(-capacity));
    }
  });
});

describe('LineRing with lines cut from big chunks of text', () => {
  it('holds only the lines: 200 lines taken from 200 chunks of 1 MiB keep well under 10 MiB', () => {
    const ring = new LineRing(200);
    const before = heapUsedMiB();
    for (let chunk = 0; chunk < 200; chunk++) {
      // A chunk of its own (a fresh flat string), as each read from a stream is.
      const text = `${String(chunk).padStart(4, '0')}${'x'.repeat(2 ** 20)}`.split('').join('');
      ring.push(text.slice(0, 100), false);
    }
    const grown = heapUsedMiB() - before;
    expect(ring.tail(1)[0]!.text).toBe(`0199${'x'.repeat(96)}`);
    expect(grown).toBeLessThan(10);
  });

  it('keeps its lines outside V8 heap: 2,000 lines of 400 characters add no string to it', () => {
    const ring = new LineRing(2000);
    const line = (index: number) => `${String(index).padStart(6, '0')}${'z'.repeat(394)}`;
    const before = heapUsedMiB();
    for (let index = 0; index < 2000; index++) ring.push(line(index), false);
    // As strings, 2,000 lines of 400 characters take 0.8 MB of the heap.
    expect(heapUsedMiB() - before).toBeLessThan(0.2);
    expect(ring.retained).toBe(2000);
    expect(ring.tail(1)[0]!.text).toBe(line(1999));
  });
});
