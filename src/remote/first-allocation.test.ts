import { describe, expect, it } from 'vitest';
import { withFirstAllocation } from './first-allocation.js';

describe('withFirstAllocation', () => {
  const original = Buffer.allocUnsafe;

  it('answers the first allocation with the buffer given, and only the first', () => {
    const ready = Buffer.alloc(64, 7);
    const [first, second] = withFirstAllocation(
      (size) => ready.subarray(0, size),
      () => [Buffer.allocUnsafe(16), Buffer.allocUnsafe(16)],
    );
    expect(first!.buffer).toBe(ready.buffer);
    expect(second!.buffer).not.toBe(ready.buffer);
    expect(Buffer.allocUnsafe).toBe(original);
  });

  it('makes the buffer as usual when nothing is given for that size', () => {
    const made = withFirstAllocation(
      (size) => (size === 8 ? Buffer.alloc(8) : undefined),
      () => Buffer.allocUnsafe(32),
    );
    expect(made.length).toBe(32);
    expect(Buffer.allocUnsafe).toBe(original);
  });

  it('puts allocUnsafe back when the call throws, or never allocates', () => {
    expect(() =>
      withFirstAllocation(
        () => Buffer.alloc(4),
        () => {
          throw new Error('refused');
        },
      ),
    ).toThrow('refused');
    expect(Buffer.allocUnsafe).toBe(original);
    withFirstAllocation(
      () => Buffer.alloc(4),
      () => undefined,
    );
    expect(Buffer.allocUnsafe).toBe(original);
  });

  it('a nested one leaves the outer answer for the outer allocation, even when its own buffer is made meanwhile', () => {
    const outer = Buffer.alloc(100);
    const inner = Buffer.alloc(10);
    const [fromInner, fromOuter] = withFirstAllocation(
      (size) => (size === 100 ? outer : undefined),
      () => [
        withFirstAllocation(
          (size, allocUnsafe) => {
            allocUnsafe(50);
            return size === 10 ? inner : undefined;
          },
          () => Buffer.allocUnsafe(10),
        ),
        Buffer.allocUnsafe(100),
      ],
    );
    expect(fromInner).toBe(inner);
    expect(fromOuter).toBe(outer);
    expect(Buffer.allocUnsafe).toBe(original);
  });
});
