// Waiting in a test for something to become true, by asking again every few milliseconds:
//
//   await waitFor(() => existsSync(flag), { what: 'the command to write its flag', timeoutMs: 5000 });
//
// A wait that runs out fails with what was waited for and for how long (and `detail()`, e.g.
// the output so far), so a failing test says what never happened.

export interface WaitForOptions {
  /** What is waited for, as the end of "timed out after N ms waiting for ...". Default: the condition's source. */
  what?: string;
  /** How long at most (default 10 s). */
  timeoutMs?: number;
  /** How long between two looks (default 25 ms). */
  intervalMs?: number;
  /** More facts for the failure message, read when the wait runs out (e.g. a screen, a log). */
  detail?: () => string;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, options: WaitForOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const what = options.what ?? String(condition);
      const detail = options.detail ? `:\n${options.detail()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(options.intervalMs ?? 25);
  }
}

/** Waits until `read()` gives a value other than undefined, and returns it. */
export async function waitForValue<T>(read: () => T | undefined | Promise<T | undefined>, options: WaitForOptions = {}): Promise<T> {
  let value: T | undefined;
  await waitFor(async () => {
    value = await read();
    return value !== undefined;
  }, options);
  return value as T;
}

/** A fixed pause, for where time itself is what a test needs to pass (e.g. a timer that must not fire early). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
