import { describe, expect, test } from 'vitest';
import { untilAborted } from './errors.js';

function unhandledRejectionsDuring(work: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  return work()
    .then(() => new Promise((resolve) => setTimeout(resolve, 20)))
    .then(() => {
      process.off('unhandledRejection', listener);
      return seen;
    });
}

describe('untilAborted', () => {
  test('an already aborted signal rejects at once and the work failing later is not left unhandled', async () => {
    const controller = new AbortController();
    controller.abort();
    const seen = await unhandledRejectionsDuring(async () => {
      const work = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('late failure')), 5));
      await expect(untilAborted(work, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    });
    expect(seen).toEqual([]);
  });

  test('an abort during the work rejects at once; the work failing afterwards is not left unhandled', async () => {
    const controller = new AbortController();
    const seen = await unhandledRejectionsDuring(async () => {
      const work = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('late failure')), 10));
      const waiting = untilAborted(work, controller.signal);
      controller.abort();
      await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    });
    expect(seen).toEqual([]);
  });

  test('the work’s own result and failure pass through', async () => {
    const controller = new AbortController();
    await expect(untilAborted(Promise.resolve(7), controller.signal)).resolves.toBe(7);
    await expect(untilAborted(Promise.reject(new Error('no route')), controller.signal)).rejects.toThrow('no route');
  });
});
