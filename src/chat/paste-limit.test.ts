import { describe, expect, it } from 'vitest';
import { PasteLimiter } from './paste-limit.js';

const START = '\x1b[200~';
const END = '\x1b[201~';

/** Feeds `text` to a limiter cut into the given pieces and returns what came out. */
function through(limiter: PasteLimiter, pieces: string[]): string {
  return pieces.map((piece) => limiter.filter(Buffer.from(piece, 'latin1')).toString('latin1')).join('');
}

/** `text` cut at every position into two pieces, and into single bytes. */
function cuts(text: string): string[][] {
  const two = Array.from({ length: text.length + 1 }, (_, at) => [text.slice(0, at), text.slice(at)]);
  return [...two, [...text]];
}

describe('a bracketed paste on its way to Ink', () => {
  it('passes keys and short pastes as they are, however the chunks fall', () => {
    const text = `ab\x1b[A${START}one\rtwo\r${END}\x1b\rq`;
    for (const pieces of cuts(text)) expect(through(new PasteLimiter(100), pieces)).toBe(text);
  });

  it('keeps at most the limit of a paste, marks included, and goes on after it', () => {
    const text = `x${START}${'0123456789'.repeat(5)}${END}y${START}abc${END}z`;
    const expected = `x${START}0123456789012${END}y${START}abc${END}z`;
    for (const pieces of cuts(text)) expect(through(new PasteLimiter(13), pieces)).toBe(expected);
  });

  it('holds nothing back outside a paste: a lone Escape goes on at once', () => {
    const limiter = new PasteLimiter(10);
    expect(limiter.filter(Buffer.from('\x1b')).toString()).toBe('\x1b');
    expect(limiter.filter(Buffer.from('[20')).toString()).toBe('[20');
    expect(limiter.filter(Buffer.from('0~hello')).toString()).toBe('0~hello');
    expect(limiter.inPaste).toBe(true);
  });

  it('a paste that never ends costs no more than the limit, however much comes', () => {
    const limiter = new PasteLimiter(1000);
    let passed = limiter.filter(Buffer.from(START)).length;
    const block = Buffer.alloc(64 * 1024, 'y');
    for (let i = 0; i < 200; i++) passed += limiter.filter(block).length;
    expect(passed).toBe(START.length + 1000);
    expect(limiter.inPaste).toBe(true);
    expect(limiter.filter(Buffer.from(`${END}after`)).toString()).toBe(`${END}after`);
  });
});
