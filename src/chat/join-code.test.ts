import { afterEach, describe, expect, it, vi } from 'vitest';
import { drawJoinCode, JoinGate, joinCodeMatches, type JoinGateChange } from './join-code.js';

describe('join codes', () => {
  it('are three groups of three digits, and a new one differs from the last', () => {
    for (let i = 0; i < 200; i++) {
      const previous = drawJoinCode();
      expect(previous).toMatch(/^\d{3}-\d{3}-\d{3}$/);
      expect(drawJoinCode(previous)).not.toBe(previous);
    }
  });

  it('match with or without dashes and spaces, and nothing else', () => {
    expect(joinCodeMatches('482-917-305', '482-917-305')).toBe(true);
    expect(joinCodeMatches('482917305', '482-917-305')).toBe(true);
    expect(joinCodeMatches(' 482 917 305\n', '482-917-305')).toBe(true);
    expect(joinCodeMatches('482-917-306', '482-917-305')).toBe(false);
    expect(joinCodeMatches('48291730', '482-917-305')).toBe(false);
    expect(joinCodeMatches('', '482-917-305')).toBe(false);
    expect(joinCodeMatches('4829173055', '482-917-305')).toBe(false);
  });
});

describe('JoinGate', () => {
  afterEach(() => vi.useRealTimers());

  function gate(oneTime = false) {
    const changes: JoinGateChange[] = [];
    const joinGate = new JoinGate({ maxFailures: 3, lockoutMs: 60_000, oneTime, onChange: (change) => changes.push(change) });
    return { joinGate, changes };
  }

  function fail(joinGate: JoinGate, times: number) {
    for (let i = 0; i < times; i++) {
      expect(joinGate.check('000-000-000x')).toBe('wrong');
      joinGate.recordFailure();
    }
  }

  it('locks out after maxFailures wrong codes in a row; the right code is refused until the lockout runs out', () => {
    vi.useFakeTimers();
    const { joinGate, changes } = gate();
    fail(joinGate, 2);
    expect(joinGate.lockedUntil()).toBeNull();
    fail(joinGate, 1);
    const until = joinGate.lockedUntil();
    expect(until).toBe(Date.now() + 60_000);
    expect(changes).toEqual([{ type: 'locked', until, failures: 3 }]);
    expect(joinGate.check(joinGate.code())).toBe('locked');
    vi.advanceTimersByTime(60_010);
    expect(changes.at(-1)).toEqual({ type: 'unlocked', reason: 'expired' });
    expect(joinGate.lockedUntil()).toBeNull();
    // The count starts again from nothing.
    fail(joinGate, 2);
    expect(joinGate.lockedUntil()).toBeNull();
    expect(joinGate.check(joinGate.code())).toBe('accepted');
  });

  it('a right code resets the count of wrong ones', () => {
    const { joinGate } = gate();
    fail(joinGate, 2);
    expect(joinGate.check(joinGate.code())).toBe('accepted');
    fail(joinGate, 2);
    expect(joinGate.lockedUntil()).toBeNull();
    joinGate.dispose();
  });

  it('newCode() ends a lockout; the old code no longer works', () => {
    const { joinGate, changes } = gate();
    const old = joinGate.code();
    fail(joinGate, 3);
    expect(joinGate.lockedUntil()).not.toBeNull();
    const fresh = joinGate.newCode();
    expect(joinGate.lockedUntil()).toBeNull();
    expect(changes.slice(-2)).toEqual([
      { type: 'code-changed', reason: 'drawn' },
      { type: 'unlocked', reason: 'new-code' },
    ]);
    expect(joinGate.check(old)).toBe('wrong');
    expect(joinGate.check(fresh)).toBe('accepted');
    joinGate.dispose();
  });

  it('a one-time code is used up by the helper it lets in', () => {
    const { joinGate, changes } = gate(true);
    const code = joinGate.code();
    expect(joinGate.check(code)).toBe('accepted');
    expect(changes).toEqual([{ type: 'code-changed', reason: 'used' }]);
    expect(joinGate.code()).not.toBe(code);
    expect(joinGate.check(code)).toBe('wrong');
  });
});
