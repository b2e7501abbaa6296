import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { YoungCollection } from './young-collection.js';

describe('YoungCollection', () => {
  it('asks for a collection once every so many bytes received, counting across chunks', () => {
    const asked: unknown[] = [];
    const collection = new YoungCollection(1000, (options) => asked.push(options));
    collection.received(400);
    collection.received(599);
    expect(asked).toEqual([]);
    collection.received(1);
    expect(asked).toEqual([{ type: 'minor' }]);
    collection.received(2500);
    collection.received(999);
    expect(asked).toHaveLength(2);
    collection.received(1);
    expect(asked).toHaveLength(3);
  });

  it("has V8 collect its young generation, without giving the program's global scope gc()", async () => {
    const kinds: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) kinds.push((entry as PerformanceEntry & { detail: { kind: number } }).detail.kind);
    });
    observer.observe({ entryTypes: ['gc'] });
    try {
      new YoungCollection(1).received(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      observer.disconnect();
    }
    expect(kinds).toContain(constants.NODE_PERFORMANCE_GC_MINOR);
    expect('gc' in globalThis).toBe(false);
  });
});
