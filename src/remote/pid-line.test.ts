import { describe, expect, test } from 'vitest';
import { PidLineReader } from './pid-line.js';

const text = (buffer: Buffer) => buffer.toString('utf8');

describe('PidLineReader', () => {
  test('takes the pid line off the front, even split across chunks, and passes the rest', async () => {
    const reader = new PidLineReader();
    expect(text(reader.feed(Buffer.from('nightshift-')))).toBe('');
    expect(text(reader.feed(Buffer.from('pid 4242\nfirst error\n')))).toBe('first error\n');
    expect(text(reader.feed(Buffer.from('nightshift-pid 1\n')))).toBe('nightshift-pid 1\n');
    expect(await reader.waitForPid(10)).toBe(4242);
  });

  test('a first line that is not the pid line passes through untouched', async () => {
    const reader = new PidLineReader();
    expect(text(reader.feed(Buffer.from('sh: 1: exec: /bin/sh: not found\n')))).toBe('sh: 1: exec: /bin/sh: not found\n');
    expect(await reader.waitForPid(10)).toBeNull();
  });

  test('a long first line without a newline is not held back for ever', () => {
    const reader = new PidLineReader();
    const long = 'x'.repeat(100);
    expect(text(reader.feed(Buffer.from(long)))).toBe(long);
  });

  test('what is held back comes out on flush; a waiter hears null when the stream ends', async () => {
    const reader = new PidLineReader();
    expect(text(reader.feed(Buffer.from('nightshift')))).toBe('');
    const waiting = reader.waitForPid(5000);
    reader.end();
    expect(await waiting).toBeNull();
    expect(text(reader.flush())).toBe('nightshift');
  });

  test('waiting gives up after the timeout', async () => {
    expect(await new PidLineReader().waitForPid(5)).toBeNull();
  });
});
