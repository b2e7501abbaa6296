// The end of a step's log file, read from the back.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const CHUNK = 1024 * 1024;
/** At most this much of a log's end is read: more than any screen or report keeps of its last lines, however long they are. */
const MAX_TAIL_BYTES = 8 * CHUNK;
const NEWLINE = 0x0a;

/**
 * The end of a log: its last `maxLines` ended lines and a last line not ended after them
 * (fewer when they are longer than MAX_TAIL_BYTES together), read backwards so that a huge
 * log is never held whole; the lines in front of them are only counted (when asked: that
 * reads the whole file).
 */
export function readLogTail(file: string, maxLines: number, options: { countBefore: boolean }): { text: string; linesBefore: number } {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    const size = fstatSync(fd).size;
    let start = size;
    let newlines = 0;
    while (start > 0 && newlines <= maxLines && size - start < MAX_TAIL_BYTES) {
      const length = Math.min(CHUNK, start);
      start -= length;
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, start);
      chunks.unshift(buffer);
      newlines += countNewlinesIn(buffer);
    }
    const tail = Buffer.concat(chunks);
    // Only the lines asked for are decoded: a chunk of short lines holds a hundred times more,
    // and each would be split, cleaned and pushed to a screen that keeps the last ones.
    let cut = lastLinesStart(tail, maxLines);
    if (cut === 0 && start > 0) {
      // Fewer lines than asked for in as much as is read: the tail begins inside a line, one of
      // those before it. A tail that is all one line's end (no newline before its last byte) is kept.
      const firstBreak = tail.indexOf(NEWLINE);
      if (firstBreak !== -1 && firstBreak < tail.length - 1) cut = firstBreak + 1;
    }
    const text = tail.subarray(cut).toString('utf8');
    if (!options.countBefore || start + cut === 0) return { text, linesBefore: 0 };
    return { text, linesBefore: countNewlines(fd, 0, start) + countNewlinesIn(tail.subarray(0, cut)) };
  } finally {
    closeSync(fd);
  }
}

/** Where the last `maxLines` ended lines begin in `buffer` (0: it holds no more than them, and a line not ended). */
export function lastLinesStart(buffer: Buffer, maxLines: number): number {
  let position = buffer.length;
  // The first newline found ends the last ended line; each further one, the line before.
  for (let found = 0; found <= maxLines; found++) {
    if (position === 0) return 0;
    const newline = buffer.lastIndexOf(NEWLINE, position - 1);
    if (newline === -1) return 0;
    position = newline;
  }
  return position + 1;
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
