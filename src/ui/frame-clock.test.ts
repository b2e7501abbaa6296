import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FrameClock } from './frame-clock.js';

describe('the frame clock', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('draws a change after a quiet moment at once, and a burst of changes together in the next frame', () => {
    const clock = new FrameClock(100);
    const drawn: number[] = [];
    const draw = () => drawn.push(Date.now());
    const start = Date.now();
    clock.request(draw);
    expect(drawn).toEqual([start]);
    // 300 changes within the next 50 ms: one frame, 100 ms after the first.
    for (let change = 0; change < 300; change++) {
      vi.advanceTimersByTime(50 / 300);
      clock.request(draw);
    }
    expect(drawn).toHaveLength(1);
    vi.advanceTimersByTime(60);
    expect(drawn).toEqual([start, start + 100]);
    // Quiet again: the next change is drawn at once.
    vi.advanceTimersByTime(500);
    const later = Date.now();
    clock.request(draw);
    expect(drawn).toEqual([start, start + 100, later]);
  });

  it('runs every poll in every frame, together with what was requested, until it is stopped', () => {
    const clock = new FrameClock(100);
    const events: string[] = [];
    const stop = clock.poll(() => events.push(`poll@${Date.now() % 1000}`));
    expect(events).toHaveLength(1);
    vi.advanceTimersByTime(30);
    clock.request(() => events.push('change'));
    // The change waits for the frame the poll is in: one render for both.
    expect(events).toHaveLength(1);
    vi.advanceTimersByTime(70);
    expect(events.slice(1)).toEqual(['change', expect.stringMatching(/^poll@/)]);
    vi.advanceTimersByTime(1000);
    expect(events).toHaveLength(13);
    stop();
    vi.advanceTimersByTime(1000);
    expect(events).toHaveLength(13);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('polls every quietEveryMs while every poll is quiet, every everyMs otherwise, and draws a change in the next ordinary frame', () => {
    const clock = new FrameClock(100, Date.now, 1000);
    let quiet = true;
    const polls: number[] = [];
    const start = Date.now();
    clock.poll(
      () => polls.push(Date.now() - start),
      () => quiet,
    );
    vi.advanceTimersByTime(2050);
    expect(polls).toEqual([0, 1000, 2000]);
    // A change 50 ms into a quiet wait is drawn 100 ms after the last frame, not at the end of the wait.
    const drawn: number[] = [];
    clock.request(() => drawn.push(Date.now() - start));
    expect(drawn).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(drawn).toEqual([2100]);
    expect(polls.at(-1)).toBe(2100);
    // Output opened (a step started, which is a change of its own): ten frames a second again.
    quiet = false;
    vi.advanceTimersByTime(30);
    clock.request(() => drawn.push(Date.now() - start));
    vi.advanceTimersByTime(370);
    expect(drawn).toEqual([2100, 2200]);
    expect(polls.slice(-4)).toEqual([2200, 2300, 2400, 2500]);
  });
});
