import { describe, expect, it } from 'vitest';
import { AttachOutput } from './attach-output.js';
import { attachMarks } from './detached-scripts.js';

const nonce = '0123456789abcdef01234567';
const marks = attachMarks(nonce);

/** Feeds `stream` in the given chunk sizes (cycled); what came out where. */
function split(stream: Buffer, sizes: number[]) {
  const output: Buffer[] = [];
  const begun: string[] = [];
  const attach = new AttachOutput(
    nonce,
    (chunk) => output.push(Buffer.from(chunk)),
    (report) => begun.push(report),
  );
  for (let at = 0, i = 0; at < stream.length; i++) {
    const size = sizes[i % sizes.length]!;
    attach.write(stream.subarray(at, at + size));
    at += size;
  }
  return { output: Buffer.concat(output), chunks: output.length, begun, start: attach.startText, report: attach.reportText, isBegun: attach.begun };
}

const stream = (...parts: Array<string | Buffer>) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));

describe('splitting what the attach script prints', () => {
  // Output that looks like the marks but for another run, NUL bytes, and a line that ends in a NUL.
  const hostile = stream(
    'line 1\n',
    `\0nightshift-end-ffffffffffffffffffffffff\n`,
    'exit=0\nend=ok\n',
    Buffer.from([0, 0, 0x6e]),
    marks.begin,
    'ends in a NUL\0',
  );
  const whole = stream('\ndir=/r\nstate=new\n', marks.begin, hostile, marks.end, 'state=found\nexit=7\nend=ok\n');

  it('gives the start report, the command output byte for byte and the run report, however the bytes are cut', () => {
    for (const sizes of [[whole.length], [1], [2, 3], [7], [marks.end.length - 1], [marks.begin.length + 1, 1]]) {
      const got = split(whole, sizes);
      expect(got.begun).toEqual(['\ndir=/r\nstate=new\n']);
      expect(got.output.equals(hostile)).toBe(true);
      expect(got.report).toBe('state=found\nexit=7\nend=ok\n');
    }
  });

  it('holds nothing back from ordinary output: each chunk is passed on as it comes', () => {
    const lines = stream(marks.begin, 'a\n', 'b\n', 'c');
    const got = split(lines, [marks.begin.length, 2, 2, 1]);
    expect(got.chunks).toBe(3);
    expect(got.output.toString()).toBe('a\nb\nc');
    expect(got.report).toBeNull();
  });

  it('holds back only a tail that could start the end mark, and passes it on when it does not', () => {
    const got = split(stream(marks.begin, 'x\0nightshift-e'), [100]);
    expect(got.output.toString()).toBe('x');
    const more = split(stream(marks.begin, 'x\0nightshift-e', 'nd-elsewhere\n'), [marks.begin.length + 15, 100]);
    expect(more.output.toString()).toBe('x\0nightshift-end-elsewhere\n');
  });

  it('without its begin mark nothing counts as the command output: a start that failed or was cut', () => {
    const got = split(stream('skipped=/x: read-only\n', 'nightshift-begin-0000000000000000\n', 'output?'), [5]);
    expect(got.isBegun).toBe(false);
    expect(got.output.length).toBe(0);
    expect(got.start).toContain('skipped=/x: read-only');
  });

  it('finds a begin mark that comes first, as when the run is only followed', () => {
    const got = split(stream(marks.begin, 'out'), [3]);
    expect(got.begun).toEqual(['']);
    expect(got.output.toString()).toBe('out');
  });
});
