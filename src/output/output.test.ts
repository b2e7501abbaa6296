import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineRing } from './line-ring.js';
import { neutralize, safeJson, stripControls, visibleLine, visibleText } from './neutralize.js';
import { StepOutput } from './step-output.js';
import { scratchFolders } from '../../test/support/scratch-folder.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

describe('neutralize', () => {
  it('leaves ordinary text alone', () => {
    expect(neutralize('tar: ./usr/bin/ls')).toBe('tar: ./usr/bin/ls');
  });
  it('removes colour, cursor, title and clear-screen sequences', () => {
    expect(neutralize('\x1b[31mred\x1b[0m \x1b[2J\x1b[H\x1b]0;owned\x07ok')).toBe('red ok');
  });
  it('removes 8-bit CSI and shows other controls in caret notation', () => {
    expect(neutralize('a\x9b2Jb\x07c\x00d')).toBe('ab^Gc^@d');
  });
  it('keeps what a carriage return leaves visible and expands tabs', () => {
    expect(neutralize('10%\r50%\r100%')).toBe('100%');
    expect(neutralize('a\tb')).toBe('a       b');
  });
  it('removes an unterminated OSC instead of letting it swallow later output', () => {
    expect(neutralize('x\x1b]52;c;ZXZpbA==')).toBe('x');
  });
  it('shows C1 controls, bidi overrides and zero-width characters as code points', () => {
    expect(neutralize('a\x85b\x9dc\x90d')).toBe('a<U+0085>b<U+009D>c<U+0090>d');
    expect(neutralize('rm -rf \u202e/ emoh~\u202c')).toBe('rm -rf <U+202E>/ emoh~<U+202C>');
    expect(neutralize('ro\u200bot\ufeff\u2066x\u2069\u00ad\u2028')).toBe('ro<U+200B>ot<U+FEFF><U+2066>x<U+2069><U+00AD><U+2028>');
    expect(stripControls('hi\u202e \x1b[2Jthere\x85')).toBe('hi<U+202E> there');
  });
});

describe('visibleText (runbook text)', () => {
  it('shows every control, sequences included, so that a command reads as what runs', () => {
    expect(visibleText('touch x # \x1b[2K\r\x1b[1Gdate')).toBe('touch x # ^[[2K^M^[[1Gdate');
    expect(visibleText('title \x1b]0;owned\x07 \x1b]52;c;cHduZWQ=\x07')).toBe('title ^[]0;owned^G ^[]52;c;cHduZWQ=^G');
    expect(visibleText('\x9b2J \x85 \u202eabc\u200d')).toBe('<U+009B>2J <U+0085> <U+202E>abc<U+200D>');
  });
  it('keeps line breaks and tabs, which visibleLine shows', () => {
    expect(visibleText('one\n\ttwo\r\n')).toBe('one\n\ttwo^M\n');
    expect(visibleLine('one\n\ttwo')).toBe('one^J\ttwo');
  });
  it('leaves ordinary text, accents and emoji alone', () => {
    expect(visibleText('Taipei 台北 ✓ café')).toBe('Taipei 台北 ✓ café');
  });
});

describe('safeJson', () => {
  it('escapes what JSON leaves raw but a terminal acts on, and keeps the value', () => {
    const value = { text: 'a\x9b2J\x85\u202e\x7f\u2028b\x1b' };
    const json = safeJson(value);
    expect(json).toBe('{"text":"a\\u009b2J\\u0085\\u202e\\u007f\\u2028b\\u001b"}');
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('LineRing', () => {
  it('keeps only the last lines and counts all of them', () => {
    const ring = new LineRing(3);
    for (let i = 1; i <= 5; i++) ring.push(String(i), i === 5);
    expect(ring.total).toBe(5);
    expect(ring.tail(10)).toEqual([
      { text: '3', stderr: false },
      { text: '4', stderr: false },
      { text: '5', stderr: true },
    ]);
    expect(ring.tail(2, 1).map((line) => line.text)).toEqual(['3', '4']);
  });
});

describe('StepOutput', () => {
  it('logs raw bytes, splits lines across chunks and multibyte characters, and batches per chunk', async () => {
    const dir = scratch('ns-output-');
    const batches: Array<[string[], boolean]> = [];
    const output = new StepOutput(path.join(dir, 'step.log'), { onLines: (lines, stderr) => batches.push([lines, stderr]) });
    const euro = Buffer.from('€');
    output.write(Buffer.concat([Buffer.from('one\ntw'), euro.subarray(0, 1)]));
    output.write(Buffer.concat([euro.subarray(1), Buffer.from('o\n\x1b[1mthree')]));
    output.write(Buffer.from('oops\n'), true);
    await output.close();
    expect(batches).toEqual([
      [['one'], false],
      [['tw€o'], false],
      [['oops'], true],
      [['three'], false],
    ]);
    expect(readFileSync(path.join(dir, 'step.log'), 'utf8')).toBe('one\ntw€o\n\x1b[1mthreeoops\n');
    expect(output.bytes).toBe(Buffer.byteLength('one\ntw€o\n\x1b[1mthreeoops\n'));
  });
});

describe('StepOutput for the screen (no line listener)', () => {
  it('decodes only the lines the ring keeps of a flood, counts every line, and logs every byte', async () => {
    const dir = scratch('ns-output-');
    const file = path.join(dir, 'flood.log');
    const output = new StepOutput(file, { ringCapacity: 5 });
    const numbers = Array.from({ length: 100 }, (_, i) => `${i + 1}é\x1b[31m`).join('\n');
    // A chunk of 100 lines ending inside line 101, then one that ends it and adds 3 more.
    output.write(Buffer.from(`${numbers}\n10`));
    output.write(Buffer.from('1é\n102\n103\n104'));
    await output.close();
    expect(output.ring.total).toBe(104);
    expect(output.ring.tail(10).map((line) => line.text)).toEqual(['100é', '101é', '102', '103', '104']);
    expect(readFileSync(file, 'utf8')).toBe(`${numbers}\n101é\n102\n103\n104`);
  });

  it('a multibyte character split across chunks after a skipped head is decoded whole', async () => {
    const dir = scratch('ns-output-');
    const output = new StepOutput(path.join(dir, 'split.log'), { ringCapacity: 2 });
    const bytes = Buffer.from('a\nb\nc\nd\nsnö\n');
    const cut = bytes.indexOf(Buffer.from('ö')) + 1; // inside the two bytes of ö
    output.write(bytes.subarray(0, cut));
    output.write(bytes.subarray(cut));
    await output.close();
    expect(output.ring.total).toBe(5);
    expect(output.ring.tail(2).map((line) => line.text)).toEqual(['d', 'snö']);
  });
});

describe('StepOutput continued at saved offsets', () => {
  it('cuts what came after the offsets (the host sends it again), counts the earlier lines and joins a cut line', async () => {
    const file = path.join(scratch('ns-continue-'), 'slow.1.log');
    const first = new StepOutput(file);
    first.write(Buffer.from('warn\n'), true);
    first.write(Buffer.from('line 1\nli'));
    const saved = { stdout: first.stdoutBytes, stderr: first.stderrBytes };
    first.write(Buffer.from('ne 2\n'));
    await first.close();

    const again = new StepOutput(file, { continueAt: saved });
    expect(again.bytes).toBe(saved.stdout + saved.stderr);
    expect(again.lines).toBe(2);
    again.write(Buffer.from('ne 2\nline 3\n'));
    await again.close();
    expect(readFileSync(file, 'utf8')).toBe('warn\nline 1\nline 2\nline 3\n');
    expect(again.lines).toBe(4);
    expect(again.ring.tail(10).map((line) => line.text)).toEqual(['warn', 'line 1', 'line 2', 'line 3']);
    expect([again.stdoutBytes, again.stderrBytes]).toEqual([saved.stdout + 12, saved.stderr]);
  });
});
