// What the ring keeps of long lines, and that it keeps nothing else: a line split from a big
// chunk of text must not hold on to the chunk.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { LineRing, retainedCopy, SHOWN_CHARS } from './line-ring.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function heapUsedMiB(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

describe('retainedCopy', () => {
  it('keeps a line as it is up to what a screen can show, and its start beyond that', () => {
    expect(retainedCopy('')).toBe('');
    expect(retainedCopy('short')).toBe('short');
    const wide = 'é'.repeat(SHOWN_CHARS);
    expect(retainedCopy(wide)).toBe(wide);
    expect(retainedCopy(`${wide}and more`)).toBe(wide);
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
});
