import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lastLinesStart, readLogTail } from './log-tail.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nightshift-log-tail-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function logOf(content: string | Buffer): string {
  const file = path.join(dir, `${files++}.log`);
  writeFileSync(file, content);
  return file;
}

const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => `line ${from + index}\n`).join('');

describe('readLogTail', () => {
  it('gives a short log whole, with nothing before it', () => {
    const file = logOf(numbered(1, 5));
    expect(readLogTail(file, 2000, { countBefore: true })).toEqual({ text: numbered(1, 5), linesBefore: 0 });
  });

  it('gives exactly the last lines asked for of a long log, and counts the others when asked', () => {
    // 300,000 short lines: more than two chunks, a hundred times the lines asked for in the last one.
    const file = logOf(numbered(1, 300_000));
    expect(readLogTail(file, 2000, { countBefore: true })).toEqual({ text: numbered(298_001, 300_000), linesBefore: 298_000 });
    expect(readLogTail(file, 2000, { countBefore: false })).toEqual({ text: numbered(298_001, 300_000), linesBefore: 0 });
  });

  it('keeps a last line not ended (a progress bar) after the last lines asked for', () => {
    const file = logOf(`${numbered(1, 10_000)}copying 45%`);
    expect(readLogTail(file, 3, { countBefore: true })).toEqual({ text: `${numbered(9_998, 10_000)}copying 45%`, linesBefore: 9_997 });
  });

  it('reads no more than its bound of lines longer than that together, starting at a line of its own', () => {
    const long = (mark: string) => `${mark.repeat(3 * 1024 * 1024)}\n`;
    const file = logOf(`${numbered(1, 4)}${long('a')}${long('b')}${long('c')}${long('d')}`);
    const { text, linesBefore } = readLogTail(file, 2000, { countBefore: true });
    // The bound (8 MiB) reaches into the second long line: the lines kept are the last two, whole.
    expect(text).toBe(`${long('c')}${long('d')}`);
    expect(linesBefore).toBe(6);
  });

  it('gives the end of one endless line with no newline, without reading all of it', () => {
    const file = logOf(Buffer.alloc(20 * 1024 * 1024, 'x'));
    const { text, linesBefore } = readLogTail(file, 2000, { countBefore: true });
    expect(text.length).toBe(8 * 1024 * 1024);
    expect(text).toMatch(/^x+$/);
    expect(linesBefore).toBe(0);
  });

  it('counts lines by their newlines, whatever else the bytes are (escapes, carriage returns, broken UTF-8)', () => {
    const hostile = Buffer.concat([Buffer.from('\x1b[2J\r\n'), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from('ok\r\n')]);
    const file = logOf(hostile);
    expect(readLogTail(file, 2, { countBefore: true })).toEqual({ text: `${Buffer.from([0xff, 0xfe]).toString('utf8')}\nok\r\n`, linesBefore: 1 });
  });
});

describe('lastLinesStart', () => {
  it('finds where the last ended lines begin, a line not ended after them', () => {
    expect(lastLinesStart(Buffer.from('a\nb\nc\n'), 2)).toBe(2);
    expect(lastLinesStart(Buffer.from('a\nb\nc'), 2)).toBe(0);
    expect(lastLinesStart(Buffer.from('a\nb\nc\nd'), 2)).toBe(2);
    expect(lastLinesStart(Buffer.from('a\nb\n'), 2)).toBe(0);
    expect(lastLinesStart(Buffer.from('\n\n\n'), 1)).toBe(2);
    expect(lastLinesStart(Buffer.from(''), 3)).toBe(0);
  });
});
