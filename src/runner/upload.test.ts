import { describe, expect, it } from 'vitest';
import type { UploadProgress } from '../remote/transfer.js';
import { describeProgress } from './upload.js';

const MB = 1_000_000;

function progress(fields: Partial<UploadProgress>): UploadProgress {
  return { phase: 'sending', bytes: 0, total: 50 * MB, bytesPerSecond: 0, etaMs: null, resumedFrom: 0, ...fields };
}

describe('describeProgress', () => {
  it('says the bytes done of the total, the rate per second and the time left', () => {
    expect(describeProgress(progress({ bytes: 12.5 * MB, bytesPerSecond: 2.5 * MB, etaMs: 15_000 }))).toBe(
      'sending 25% (12.5 MB of 50.0 MB, 2.5 MB/s, 15s left)',
    );
    expect(describeProgress(progress({ bytes: 1536, total: 2 * 1024 * 1024 * 1024, bytesPerSecond: 900, etaMs: 3_725_000 }))).toBe(
      'sending 0% (1.5 kB of 2.1 GB, 900 B/s, 1h2m left)',
    );
  });

  it('leaves out the rate and the time left while they are not known', () => {
    expect(describeProgress(progress({ phase: 'hashing' }))).toBe('hashing 0% (0 B of 50.0 MB)');
    expect(describeProgress(progress({ phase: 'verifying', bytes: 50 * MB }))).toBe('verifying 100% (50.0 MB of 50.0 MB)');
  });

  it('says after how many bytes a cut upload was resumed, counting them as done', () => {
    expect(describeProgress(progress({ bytes: 20 * MB, bytesPerSecond: 2 * MB, etaMs: 15_000, resumedFrom: 16 * MB }))).toBe(
      'sending 40% (20.0 MB of 50.0 MB, 2.0 MB/s, 15s left, resumed after 16.0 MB)',
    );
  });

  it('says no time left once all is sent, and no percentage for an empty file', () => {
    expect(describeProgress(progress({ bytes: 50 * MB, bytesPerSecond: 2 * MB, etaMs: 0 }))).toBe('sending 100% (50.0 MB of 50.0 MB, 2.0 MB/s)');
    expect(describeProgress(progress({ total: 0, etaMs: 0 }))).toBe('sending (0 B of 0 B)');
  });
});
