import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TailLine } from '../../output/line-ring.js';
import type { Step } from '../../runbook/types.js';
import { showUnfinishedLines } from './unfinished-line.js';

const step = (host: string) => ({ id: `copy-${host}`, kind: 'run', host }) as unknown as Step;

function setUp(columns = 80) {
  const written: string[] = [];
  const io = { write: (text: string) => void written.push(text) };
  let open: { step: Step; line: TailLine }[] = [];
  const stop = showUnfinishedLines(io, { unfinishedLines: () => open }, { columns: () => columns, everyMs: 10 });
  return { io, written, stop, setOpen: (lines: typeof open) => (open = lines) };
}

describe('unfinished lines in plain mode on a terminal', () => {
  afterEach(() => vi.useRealTimers());

  it('draws the line being written in place, clears it before anything else is printed, and draws it again after', () => {
    vi.useFakeTimers();
    const { io, written, stop, setOpen } = setUp();
    setOpen([{ step: step('dolphin'), line: { text: 'copied 1 MB', stderr: false } }]);
    vi.advanceTimersByTime(10);
    setOpen([{ step: step('dolphin'), line: { text: 'copied 2 MB', stderr: false } }]);
    vi.advanceTimersByTime(10);
    vi.advanceTimersByTime(10); // unchanged: nothing drawn again
    io.write('[03:01:02] ok 1.1\n');
    vi.advanceTimersByTime(10);
    stop();
    expect(written.join('').replace(/\x1b\[2m|\x1b\[22m/g, '')).toBe(
      '\r\x1b[Kdolphin| copied 1 MB' + '\r\x1b[Kdolphin| copied 2 MB' + '\r\x1b[K[03:01:02] ok 1.1\n' + '\r\x1b[Kdolphin| copied 2 MB' + '\r\x1b[K',
    );
  });

  it('never draws over a question waiting on its line, nor for steps running side by side', () => {
    vi.useFakeTimers();
    const { io, written, stop, setOpen } = setUp();
    io.write('Answer retry, skip or pause: ');
    setOpen([{ step: step('dolphin'), line: { text: 'copied 1 MB', stderr: false } }]);
    vi.advanceTimersByTime(50);
    expect(written).toEqual(['Answer retry, skip or pause: ']);
    io.write('retry\n');
    setOpen([
      { step: step('vm1'), line: { text: '10%', stderr: false } },
      { step: step('vm2'), line: { text: '20%', stderr: false } },
    ]);
    vi.advanceTimersByTime(50);
    expect(written).toEqual(['Answer retry, skip or pause: ', 'retry\n']);
    stop();
  });

  it('cuts a line wider than the terminal, so that it never wraps out of reach of the carriage return', () => {
    vi.useFakeTimers();
    const { written, stop, setOpen } = setUp(30);
    setOpen([{ step: step('dolphin'), line: { text: `copied ${'台'.repeat(40)}`, stderr: false } }]);
    vi.advanceTimersByTime(10);
    stop();
    const drawn = written[0]!.replace(/\r\x1b\[K|\x1b\[2m|\x1b\[22m/g, '');
    expect(drawn.endsWith('…')).toBe(true);
    expect([...drawn].reduce((width, char) => width + (char === '台' ? 2 : 1), 0)).toBeLessThanOrEqual(29);
  });
});
