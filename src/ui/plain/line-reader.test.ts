import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LineReader } from './line-reader.js';

describe('answers read from an input that never ends', () => {
  it('reads them as they are asked for: the lines waiting stay bounded, and every one comes in order', async () => {
    let produced = 0;
    // As `yes` would: as fast as it is read, for ever.
    const endless = new Readable({
      read() {
        const chunk = Array.from({ length: 1000 }, () => `answer ${++produced}\n`).join('');
        this.push(chunk);
      },
    });
    const reader = new LineReader(endless);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reader.queuedLines).toBeGreaterThan(0);
    expect(reader.queuedLines).toBeLessThan(10_000);
    const producedWhilePaused = produced;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(produced).toBe(producedWhilePaused);
    for (let i = 1; i <= 20_000; i++) expect(await reader.next()).toBe(`answer ${i}`);
    expect(reader.queuedLines).toBeLessThan(10_000);
    endless.destroy();
  });
});
