// The end of a step's log file, read from the back.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const CHUNK = 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * The end of a log holding at least its last `maxLines` lines, read backwards so that a
 * huge log is never held whole; the lines in front of it are only counted (when asked:
 * that reads the whole file).
 */
export function readLogTail(file: string, maxLines: number, options: { countBefore: boolean }): { text: string; linesBefore: number } {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let start = fstatSync(fd).size;
    let newlines = 0;
    while (start > 0 && newlines <= maxLines) {
      const length = Math.min(CHUNK, start);
      start -= length;
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, start);
      chunks.unshift(buffer);
      newlines += countNewlinesIn(buffer);
    }
    const tail = Buffer.concat(chunks);
    if (start === 0) return { text: tail.toString('utf8'), linesBefore: 0 };
    // The tail begins inside a line: that line counts as one of those left out.
    const firstBreak = tail.indexOf(NEWLINE);
    const text = tail.subarray(firstBreak + 1).toString('utf8');
    return { text, linesBefore: options.countBefore ? countNewlines(fd, 0, start) + 1 : 0 };
  } finally {
    closeSync(fd);
  }
}

function countNewlinesIn(buffer: Buffer): number {
  let count = 0;
  for (let index = buffer.indexOf(NEWLINE); index !== -1; index = buffer.indexOf(NEWLINE, index + 1)) count++;
  return count;
}

function countNewlines(fd: number, from: number, to: number): number {
  let count = 0;
  const buffer = Buffer.alloc(CHUNK);
  for (let position = from; position < to; position += CHUNK) {
    const length = readSync(fd, buffer, 0, Math.min(CHUNK, to - position), position);
    count += countNewlinesIn(buffer.subarray(0, length));
  }
  return count;
}
