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
});
