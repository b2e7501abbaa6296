import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../engine/events.js';
import { clockTickMs, MINUTE_MS, SECOND_MS } from './clock-resolution.js';

const NOW = 1_800_000_000_000;
const quiet = { steps: {}, hosts: {}, lockedUntil: null, now: NOW };

function step(status: StepRecord['status'], startedAgoMs: number): Record<string, StepRecord> {
  return { '1.1': { status, attempts: 1, startedAt: NOW - startedAgoMs, confirmations: [] } };
}

describe('clockTickMs', () => {
  it('ticks once a minute when nothing on screen counts seconds', () => {
    expect(clockTickMs(quiet)).toBe(MINUTE_MS);
    expect(clockTickMs({ ...quiet, steps: step('done', 5000), hosts: { a: { state: 'connected', since: NOW } } })).toBe(MINUTE_MS);
    // A wait for people past its first minute is shown in whole minutes.
    expect(clockTickMs({ ...quiet, steps: step('waiting', MINUTE_MS) })).toBe(MINUTE_MS);
    expect(clockTickMs({ ...quiet, lockedUntil: NOW - 1 })).toBe(MINUTE_MS);
  });

  it('ticks every second for a running step, a fresh wait, a reconnect countdown, a fleet at work and a lockout', () => {
    expect(clockTickMs({ ...quiet, steps: step('running', 3 * MINUTE_MS) })).toBe(SECOND_MS);
    expect(clockTickMs({ ...quiet, steps: step('waiting', MINUTE_MS - 1) })).toBe(SECOND_MS);
    expect(clockTickMs({ ...quiet, hosts: { a: { state: 'reconnecting', since: NOW, attempt: 1, nextTryAt: NOW + 4000, error: 'reset' } } })).toBe(SECOND_MS);
    const host = { host: 'h1', outcome: 'running' as const, batch: 0, step: null, stepStatus: null, waiting: false, startedAt: NOW - 1000 };
    expect(clockTickMs({ ...quiet, fleetHosts: [host] })).toBe(SECOND_MS);
    expect(clockTickMs({ ...quiet, fleetHosts: [{ ...host, endedAt: NOW }] })).toBe(MINUTE_MS);
    expect(clockTickMs({ ...quiet, lockedUntil: NOW + 30_000 })).toBe(SECOND_MS);
  });
});
