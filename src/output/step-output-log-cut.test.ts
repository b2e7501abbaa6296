// A step's log on a disk that takes nothing more (/dev/full answers every write with ENOSPC):
// the output goes on to the screen and the listener, and the screen says where the log stopped.
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StepOutput } from './step-output.js';

describe.runIf(existsSync('/dev/full'))('a step log on a full disk', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stops the log, says so once, and keeps passing the output on', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-log-cut-'));
    const log = path.join(dir, 'step.log');
    symlinkSync('/dev/full', log);
    const seen: string[] = [];
    const output = new StepOutput(log, { onLines: (lines) => seen.push(...lines) });
    output.write(Buffer.from('first line\nsecond line\n'));
    output.write(Buffer.from('third line\n'), true);
    await output.close();

    const notes = seen.filter((line) => line.startsWith('nightshift: the log'));
    expect(notes).toEqual([`nightshift: the log ${log} stopped at 0 bytes (no space left on the device): what follows is shown, not kept`]);
    expect(seen.filter((line) => !line.startsWith('nightshift:'))).toEqual(['first line', 'second line', 'third line']);
    expect(output.bytes).toBe(0);
    expect(output.stdoutBytes + output.stderrBytes).toBe(34);
    expect(output.ring.tail(10).map((line) => line.text)).toContain('third line');
  });
});
