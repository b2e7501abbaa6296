import { describe, expect, it } from 'vitest';
import { timeScaleOf } from './time-scale.js';

describe('timeScaleOf', () => {
  it('maps a session without long gaps linearly', () => {
    const scale = timeScaleOf([{ from: 0, to: 60_000 }], 100, 700);
    expect(scale.x(0)).toBe(100);
    expect(scale.x(30_000)).toBe(400);
    expect(scale.x(60_000)).toBe(700);
    expect(scale.breaks).toEqual([]);
    expect(scale.ticks.length).toBeGreaterThan(2);
  });

  it('cuts a night without events out of the axis, as a break', () => {
    const hour = 3_600_000;
    const scale = timeScaleOf(
      [
        { from: 0, to: 10 * 60_000 },
        { from: 12 * hour, to: 12 * hour + 10 * 60_000 },
      ],
      0,
      1000,
    );
    expect(scale.breaks).toEqual([expect.objectContaining({ from: 10 * 60_000, to: 12 * hour })]);
    // Both stretches of work get the same width around the break.
    expect(scale.x(10 * 60_000)).toBeCloseTo(1000 - scale.x(12 * hour), 5);
    expect(scale.x(12 * hour)).toBeGreaterThan(scale.x(10 * 60_000));
    for (const tick of scale.ticks) expect(tick < 10 * 60_000 + 1 || tick >= 12 * hour).toBe(true);
  });

  it('gives a session shorter than two seconds several ticks, tenths of a second apart or more', () => {
    const start = Date.parse('2026-12-07T03:16:19.400Z');
    const scale = timeScaleOf([{ from: start, to: start + 1500 }], 230, 970);
    expect(scale.tickMs).toBeLessThan(1000);
    expect(scale.ticks.length).toBeGreaterThanOrEqual(3);
    for (const tick of scale.ticks) expect(tick % 100).toBe(0);
    expect(new Set(scale.ticks).size).toBe(scale.ticks.length);
  });

  it('takes a finer step when the one chosen for the width would leave a single tick', () => {
    // 1.8 s on 200 px: two ticks wanted, a step of a second, and only 2 s falls inside.
    const scale = timeScaleOf([{ from: 1100, to: 2900 }], 0, 200);
    expect(scale.ticks).toEqual([1500, 2500]);
    expect(scale.tickMs).toBe(500);
  });
});
