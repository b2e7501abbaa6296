import { describe, expect, it } from 'vitest';
import { ProgressReporter, type UploadProgress } from './transfer-progress.js';

function reporter(total: number) {
  let now = 1_000_000;
  const seen: UploadProgress[] = [];
  const progress = new ProgressReporter(
    total,
    (report) => seen.push(report),
    () => now,
  );
  return { progress, seen, advanceClock: (ms: number) => (now += ms) };
}

describe('ProgressReporter', () => {
  it('reports a phase at once, then at most every 100 ms, and the last numbers on flush', () => {
    const { progress, seen, advanceClock } = reporter(1000);
    progress.start('sending');
    for (let step = 0; step < 100; step++) {
      advanceClock(10);
      progress.advance(10);
    }
    // 1 s of work in 10 ms steps: the start and about ten more.
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.length).toBeLessThanOrEqual(12);
    progress.flush();
    expect(seen.at(-1)).toMatchObject({ phase: 'sending', bytes: 1000, total: 1000, etaMs: 0 });
  });

  it('measures the rate over the last seconds and derives the time left', () => {
    const { progress, seen, advanceClock } = reporter(10_000);
    progress.start('sending');
    for (let step = 0; step < 10; step++) {
      advanceClock(100);
      progress.advance(100); // 1000 bytes a second
    }
    expect(seen.at(-1)).toMatchObject({ bytes: 1000, bytesPerSecond: 1000, etaMs: 9000 });
    // A stall: the rate falls as the window slides, shown by tick() without new bytes.
    advanceClock(2000);
    progress.tick();
    expect(seen.at(-1)!.bytesPerSecond).toBeLessThan(400);
  });

  it('has no rate or time left at the very start, and none while verifying', () => {
    const { progress, seen, advanceClock } = reporter(100);
    progress.start('hashing');
    expect(seen.at(-1)).toMatchObject({ phase: 'hashing', bytes: 0, bytesPerSecond: 0, etaMs: null });
    advanceClock(500);
    progress.advance(50);
    expect(seen.at(-1)).toMatchObject({ bytesPerSecond: 100, etaMs: 500 });
    progress.start('verifying', 100);
    expect(seen.at(-1)).toMatchObject({ phase: 'verifying', bytes: 100, etaMs: null });
  });

  it('counts resumed bytes as done and reports where it resumed', () => {
    const { progress, seen, advanceClock } = reporter(1000);
    progress.setResumedFrom(600);
    progress.start('sending', 600);
    advanceClock(1000);
    progress.advance(100);
    expect(seen.at(-1)).toMatchObject({ bytes: 700, resumedFrom: 600, bytesPerSecond: 100, etaMs: 3000 });
  });
});
