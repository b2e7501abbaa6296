import { describe, expect, it } from 'vitest';
import { counted, grouped } from './counted.js';

describe('counted', () => {
  it('takes the singular for one only, and groups the digits', () => {
    expect(counted(1, 'line')).toBe('1 line');
    expect(counted(0, 'line')).toBe('0 lines');
    expect(counted(2, 'fallback step')).toBe('2 fallback steps');
    expect(counted(1_234_567, 'line')).toBe('1,234,567 lines');
    expect(counted(3, 'host waits', 'hosts wait')).toBe('3 hosts wait');
    expect(counted(1, 'host waits', 'hosts wait')).toBe('1 host waits');
  });
});

describe('grouped', () => {
  it('writes every whole number as toLocaleString does for en-US', () => {
    const samples = [0, 1, -1, 12, 999, 1000, -1000, 12_345, 999_999, 1_000_000, -7_654_321, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (let power = 1; power < 1e15; power *= 10) samples.push(power, power - 1, power + 1, -power);
    for (const count of samples) expect(grouped(count)).toBe(count.toLocaleString('en-US'));
  });

  it('leaves what is not a whole number to toLocaleString', () => {
    expect(grouped(1234.5)).toBe((1234.5).toLocaleString('en-US'));
    expect(grouped(1e21)).toBe((1e21).toLocaleString('en-US'));
  });
});
