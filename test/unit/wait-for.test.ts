// The wait every suite uses: it returns as soon as the condition holds, and a wait that runs
// out names what it waited for, how long, and the facts the caller adds.
import { describe, expect, it } from 'vitest';
import { waitFor, waitForValue } from '../support/wait-for.js';

describe('waitFor', () => {
  it('returns once the condition holds, asking again meanwhile', async () => {
    let asked = 0;
    await waitFor(() => ++asked === 3, { what: 'the third look', intervalMs: 1 });
    expect(asked).toBe(3);
  });

  it('takes an async condition', async () => {
    let asked = 0;
    await waitFor(async () => ++asked === 2, { intervalMs: 1 });
    expect(asked).toBe(2);
  });

  it('runs out with what it waited for, how long, and the detail', async () => {
    const started = Date.now();
    const error = await waitFor(() => false, { what: 'the flag file', timeoutMs: 60, intervalMs: 5, detail: () => 'the log so far' }).catch(
      (caught: unknown) => caught,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
    expect((error as Error).message).toBe('timed out after 60 ms waiting for the flag file:\nthe log so far');
  });

  it('names the condition by its source when not told what it waits for', async () => {
    const error = await waitFor(() => 1 > 2, { timeoutMs: 10, intervalMs: 5 }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe('timed out after 10 ms waiting for () => 1 > 2');
  });

  it('lets an error thrown by the condition through at once', async () => {
    const error = await waitFor(
      () => {
        throw new Error('the server exited');
      },
      { timeoutMs: 10_000 },
    ).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe('the server exited');
  });
});

describe('waitForValue', () => {
  it('returns the first value that is not undefined', async () => {
    const values = [undefined, undefined, 0];
    expect(await waitForValue(() => values.shift(), { intervalMs: 1 })).toBe(0);
  });
});
