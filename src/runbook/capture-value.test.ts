import { describe, expect, it } from 'vitest';
import { captureValue, jsonPath, OutputTail } from './capture-value.js';
import type { Capture } from './types.js';

const lastLine: Capture = { name: 'root_uuid', from: 'last_line' };
const regex = (pattern: string, group = 1): Capture => ({ name: 'label', from: 'regex', pattern, group });
const json = (path: string): Capture => ({ name: 'disk_id', from: 'json', path });

describe('captureValue', () => {
  it('takes the last non-empty line, trimmed', () => {
    expect(captureValue(lastLine, 'first\n  4f1c-aa  \n\n\n')).toEqual({ value: '4f1c-aa' });
  });

  it('takes a regex group, group 1 by default, 0 for the whole match', () => {
    expect(captureValue(regex('LABEL=(\\S+)'), 'UUID=1 LABEL=root\n')).toEqual({ value: 'root' });
    expect(captureValue(regex('LABEL=\\S+', 0), 'UUID=1 LABEL=root\n')).toEqual({ value: 'LABEL=root' });
  });

  it('takes a JSON path with indexes; numbers and booleans become text', () => {
    const out = JSON.stringify({ partitiontable: { id: '0x5a1e', partitions: [{ size: 2048 }, { bootable: true }] } });
    expect(captureValue(json('partitiontable.id'), out)).toEqual({ value: '0x5a1e' });
    expect(captureValue(json('partitiontable.partitions[0].size'), out)).toEqual({ value: '2048' });
    expect(captureValue(json('partitiontable.partitions[1].bootable'), out)).toEqual({ value: 'true' });
  });

  it('fails closed when it finds nothing, saying what it looked for and what the last line was', () => {
    expect(captureValue(lastLine, '\n\n')).toEqual({ problem: expect.stringContaining('printed no line') });
    const missing = captureValue(regex('LABEL=(\\S+)'), 'UUID=1\nno label here\n');
    expect(missing).toEqual({
      problem: expect.stringMatching(/capture label \(group 1 of \/LABEL=\(\\S\+\)\/\): nothing .* matched; the last line of stdout was "no label here"/),
    });
    expect(captureValue(json('a.b'), 'not json')).toEqual({ problem: expect.stringContaining('stdout is not JSON') });
    expect(captureValue(json('a.b'), '{"a":{}}')).toEqual({ problem: expect.stringContaining('the JSON has no a.b') });
    expect(captureValue(json('a'), '{"a":{"b":1}}')).toEqual({ problem: expect.stringContaining('a is an object, not a string') });
    expect(captureValue(json('a'), '{"a":null}')).toEqual({ problem: expect.stringContaining('a is null') });
    expect(captureValue(json('a[3]'), '{"a":[1]}')).toEqual({ problem: expect.stringContaining('no a[3]') });
    expect(captureValue(regex('(x)|(y)', 2), 'x')).toEqual({ problem: expect.stringContaining('group 2 took no part') });
  });

  it('ignores CR line ends and terminal escapes around the value', () => {
    expect(captureValue(lastLine, 'a\r\n\u001b[1;32m4f1c\u001b[0m\r\n')).toEqual({ value: '4f1c' });
    expect(captureValue(lastLine, 'progress 10%\rprogress 100%\rdone-id\r')).toEqual({ value: 'done-id' });
    expect(captureValue(lastLine, '\u001b]0;title\u0007value\n')).toEqual({ value: 'value' });
  });

  it('refuses a value with a NUL, several lines or bytes that are not UTF-8', () => {
    expect(captureValue(lastLine, 'ab\0cd\n')).toEqual({ problem: expect.stringContaining('NUL') });
    expect(captureValue(json('v'), JSON.stringify({ v: 'one\ntwo' }))).toEqual({ problem: expect.stringContaining('several lines') });
    expect(captureValue(regex('(a\\s+b)'), 'a\n\nb')).toEqual({ problem: expect.stringContaining('several lines') });
    expect(captureValue(lastLine, Buffer.from([0x66, 0xff, 0xfe, 0x0a]))).toEqual({ problem: expect.stringContaining('not valid UTF-8') });
  });

  it('refuses a value with a control or invisible character', () => {
    expect(captureValue(lastLine, 'a\u0007b\n')).toEqual({ problem: expect.stringContaining('control or invisible character') });
    expect(captureValue(lastLine, 'a\u202eb\n')).toEqual({ problem: expect.stringContaining('control or invisible character') });
    expect(captureValue(lastLine, 'a\u009bb\n')).toEqual({ problem: expect.stringContaining('control or invisible character') });
    expect(captureValue(lastLine, 'a\tb\n')).toEqual({ value: 'a\tb' });
  });

  it('keeps shell text as it is: quoting is the sender’s job', () => {
    expect(captureValue(lastLine, `$(touch /tmp/pwned) 'a' "b"\n`)).toEqual({ value: `$(touch /tmp/pwned) 'a' "b"` });
  });

  it('shows the last line with its hidden characters escaped', () => {
    const result = captureValue(regex('(nomatch)'), 'evil \u202e\u009b\u001b[2J line\n');
    expect('problem' in result && result.problem).toContain('"evil \\u202e\\u009b line"');
  });

  it('cuts a long last line in its message', () => {
    const result = captureValue(regex('(nomatch)'), `${'x'.repeat(5000)}\n`);
    expect('problem' in result && result.problem.length).toBeLessThan(400);
  });
});

describe('jsonPath', () => {
  it('reads keys and indexes, and refuses other forms', () => {
    expect(jsonPath('a.b[0].c')).toEqual(['a', 'b', 0, 'c']);
    expect(jsonPath('[1][2]')).toEqual([1, 2]);
    expect(jsonPath('a..b')).toBeNull();
    expect(jsonPath('a[x]')).toBeNull();
    expect(jsonPath('')).toBeNull();
  });
});

describe('OutputTail', () => {
  it('keeps only the last bytes of a huge output, where the value is', () => {
    const tail = new OutputTail(1024);
    for (let i = 0; i < 5000; i++) tail.write(Buffer.from(`line ${i}\n`));
    const kept = tail.bytes();
    expect(kept.length).toBe(1024);
    expect(captureValue(lastLine, kept)).toEqual({ value: 'line 4999' });
  });

  it('cuts inside one huge chunk too', () => {
    const tail = new OutputTail(16);
    tail.write(Buffer.from(`${'y'.repeat(100)}\nvalue\n`));
    expect(tail.bytes().toString()).toBe(`${'y'.repeat(9)}\nvalue\n`);
  });
});
