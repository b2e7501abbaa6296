// A progress bar as commands draw one: carriage returns rewrite the line, no newline for a
// long time. The screen sees its latest state; the log keeps every byte.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StepOutput } from './step-output.js';

const logIn = () => path.join(mkdtempSync(path.join(tmpdir(), 'ns-progress-')), 'out.log');

describe('a line rewritten by carriage returns', () => {
  it('shows the latest state of a bar that never ends its line, and ends as one line', async () => {
    const file = logIn();
    const output = new StepOutput(file);
    expect(output.partialLine).toBeNull();
    let written = '';
    for (let percent = 0; percent <= 100_000; percent++) {
      const update = `\rprogress ${percent / 1000}%`;
      written += update;
      output.write(Buffer.from(update));
      if (percent === 500) expect(output.partialLine).toEqual({ text: 'progress 0.5%', stderr: false });
    }
    expect(output.partialLine).toEqual({ text: 'progress 100%', stderr: false });
    expect(output.lines).toBe(0); // nothing cut into 16 KiB pieces
    await output.close();
    expect(output.ring.tail(5)).toEqual([{ text: 'progress 100%', stderr: false }]);
    expect(readFileSync(file, 'utf8')).toBe(written);
  });

  it('follows a bar that ends each update with its return, as dd and curl do, on stderr', async () => {
    const output = new StepOutput(logIn());
    output.write(Buffer.from('copying\n'));
    output.write(Buffer.from('1048576 bytes copied\r'), true);
    expect(output.partialLine).toEqual({ text: '1048576 bytes copied', stderr: true });
    output.write(Buffer.from('2097152 bytes copied\r'), true);
    expect(output.partialLine).toEqual({ text: '2097152 bytes copied', stderr: true });
    output.write(Buffer.from('3145728 bytes copied\n'), true);
    expect(output.partialLine).toBeNull();
    expect(output.ring.tail(5).map((line) => line.text)).toEqual(['copying', '3145728 bytes copied']);
    await output.close();
  });

  it('takes CRLF line ends, even split between chunks, as plain line ends', async () => {
    const output = new StepOutput(logIn());
    output.write(Buffer.from('first\r'));
    output.write(Buffer.from('\nsecond\r\nthi'));
    expect(output.ring.tail(5).map((line) => line.text)).toEqual(['first', 'second']);
    expect(output.partialLine).toEqual({ text: 'thi', stderr: false });
    await output.close();
  });

  it('shows a hostile partial line neutralized: no sequence reaches the screen before the newline', () => {
    const output = new StepOutput(logIn());
    output.write(Buffer.from('\x1b]0;owned\x07\x1b[2Jpassword for root: \u202e'));
    expect(output.partialLine).toEqual({ text: 'password for root: <U+202E>', stderr: false });
  });

  it('still cuts one endless line without returns into pieces, so memory stays bounded', () => {
    const output = new StepOutput(logIn());
    output.write(Buffer.alloc(40 * 1024, 'x'));
    expect(output.lines).toBe(2);
    expect(output.partialLine?.text.length).toBe(8 * 1024);
  });
});
