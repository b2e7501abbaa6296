import { describe, expect, it } from 'vitest';
import { SecretMasker } from './secret-mask.js';

/** Feeds `pieces` through one stream masker and returns all it let through. */
function streamed(masker: SecretMasker, pieces: Array<string | Buffer>): string {
  const stream = masker.stream();
  const out = pieces.map((piece) => stream.write(typeof piece === 'string' ? Buffer.from(piece) : piece));
  return Buffer.concat([...out, stream.end()]).toString('utf8');
}

/** Every way to cut `text` into two chunks, and byte by byte. */
function cuts(text: string): Buffer[][] {
  const bytes = Buffer.from(text);
  const ways: Buffer[][] = [];
  for (let at = 0; at <= bytes.length; at++) ways.push([bytes.subarray(0, at), bytes.subarray(at)]);
  ways.push([...bytes].map((byte) => Buffer.from([byte])));
  return ways;
}

describe('SecretMasker', () => {
  const masker = new SecretMasker([{ name: 'db_pw', value: 'hunter2-S3cret' }]);

  it('masks a value however the stream cuts it', () => {
    const text = 'the password is hunter2-S3cret, ok\n';
    for (const pieces of cuts(text)) {
      expect(streamed(masker, pieces)).toBe('the password is «secret db_pw», ok\n');
    }
  });

  it('masks every repetition, also back to back and across chunk ends', () => {
    const text = 'hunter2-S3crethunter2-S3cret x hunter2-S3cret';
    for (const pieces of cuts(text)) {
      expect(streamed(masker, pieces)).toBe('«secret db_pw»«secret db_pw» x «secret db_pw»');
    }
  });

  it('passes on text that only starts like the value once it cannot be it', () => {
    const stream = masker.stream();
    expect(stream.write(Buffer.from('abc hunt')).toString()).toBe('abc ');
    expect(stream.heldBytes).toBe(4);
    expect(stream.write(Buffer.from('ing\n')).toString()).toBe('hunting\n');
    expect(stream.heldBytes).toBe(0);
    expect(stream.write(Buffer.from('hunter2-S3cre')).toString()).toBe('');
    expect(stream.end().toString()).toBe('hunter2-S3cre');
  });

  it('finds a value that overlaps a false start (self-overlapping values)', () => {
    const self = new SecretMasker([{ name: 'p', value: 'aab' }]);
    for (const pieces of cuts('aaab aab aaaab')) expect(streamed(self, pieces)).toBe('a«secret p» «secret p» aa«secret p»');
  });

  it('masks the longer of two values that start alike, and each of overlapping ones', () => {
    const two = new SecretMasker([
      { name: 'short', value: 'abc' },
      { name: 'long', value: 'abcdef' },
      { name: 'other', value: 'xyz' },
    ]);
    for (const pieces of cuts('abcdef abc abcxyz')) {
      expect(streamed(two, pieces)).toBe('«secret long» «secret short» «secret short»«secret other»');
    }
  });

  it('masks values in hostile text: control characters, invalid UTF-8, a value split inside a character', () => {
    const value = 'pä$s\'"`\\w\x1b[31m';
    const hostile = new SecretMasker([{ name: 'k', value }]);
    const text = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`\x1b]0;${value}\x07\r${value}\n`), Buffer.from([0xc3])]);
    for (let at = 0; at <= text.length; at++) {
      const out = streamed(hostile, [text.subarray(0, at), text.subarray(at)]);
      expect(out).not.toContain(value);
      expect(out).toContain('\x1b]0;«secret k»\x07\r«secret k»\n');
    }
  });

  it('masks multi-line values and values in strings of a journal entry', () => {
    const lines = new SecretMasker([{ name: 'key', value: 'line one\nline two' }]);
    for (const pieces of cuts('>line one\nline two<')) expect(streamed(lines, pieces)).toBe('>«secret key»<');
    expect(lines.maskDeep({ a: ['x line one\nline two'], b: { c: 'line one\nline two' }, n: 3 })).toEqual({
      a: ['x «secret key»'],
      b: { c: '«secret key»' },
      n: 3,
    });
  });

  it('never searches a mask again, and passes everything through with no secrets', () => {
    const sneaky = new SecretMasker([
      { name: 'a', value: 'XY' },
      { name: 'b', value: 'secret' },
    ]);
    expect(sneaky.maskText('XY secret')).toBe('«secret a» «secret b»');
    const none = new SecretMasker([]);
    const chunk = Buffer.from('anything');
    expect(none.stream().write(chunk)).toBe(chunk);
    expect(none.maskText('anything')).toBe('anything');
  });
});

describe('SecretMasker.maskDeep', () => {
  it('returns what holds no value as the same object', () => {
    const masker = new SecretMasker([{ name: 'k', value: 'valuable' }]);
    const event = { type: 'SKIP', by: { role: 'upgrader', name: 'ann' }, reason: 'fine', when: new Date(0) };
    expect(masker.maskDeep(event)).toBe(event);
    const leaky = { ...event, reason: 'it was valuable' };
    expect(masker.maskDeep(leaky)).toEqual({ ...event, reason: 'it was «secret k»' });
    expect((masker.maskDeep(leaky) as typeof leaky).when).toBe(event.when);
  });
});
