import { describe, expect, it } from 'vitest';
import { counted } from './counted.js';

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
