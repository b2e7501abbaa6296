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

  test('what a noisy login shell prints first passes through, and the pid line after it is still taken', async () => {
    const reader = new PidLineReader();
    const noise = `pyenv: cannot rehash: ${'y'.repeat(90)} is not writable\nstty: 'standard input': Inappropriate ioctl for device\n`;
    // A short start of a line may yet be the pid line: held until its newline.
    expect(text(reader.feed(Buffer.from(noise.slice(0, 30))))).toBe('');
    expect(text(reader.feed(Buffer.from(`${noise.slice(30)}nightshift-pid 77\nerr`)))).toBe(`${noise}err`);
    expect(await reader.waitForPid(10)).toBe(77);
    expect(text(reader.feed(Buffer.from('nightshift-pid 1\n')))).toBe('nightshift-pid 1\n');
  });

  test('the search stops after a few KB without a pid line', async () => {
    const reader = new PidLineReader();
    const line = `${'z'.repeat(99)}\n`;
    let passed = '';
    for (let i = 0; i < 83; i++) passed += text(reader.feed(Buffer.from(line)));
    expect(passed).toBe(line.repeat(83));
    expect(await reader.waitForPid(10)).toBeNull();
    expect(text(reader.feed(Buffer.from('nightshift-pid 5\n')))).toBe('nightshift-pid 5\n');
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
