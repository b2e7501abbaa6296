import { describe, expect, it } from 'vitest';
import type { JournalEntry } from './journal.js';
import { staleSnapshotOf, stepsWithoutSnapshot } from './stale-snapshot.js';

let seq = 0;
const entry = (type: string, fields: Record<string, unknown> = {}): JournalEntry =>
  ({ seq: ++seq, at: `2026-12-03T03:00:${String(seq).padStart(2, '0')}Z`, type, ...fields }) as JournalEntry;

describe('a saved state older than the journal', () => {
  it('is stale from the last failed write that no success followed, with the steps the journal records since', () => {
    const entries = [
      entry('step.started', { stepId: 'a', attempt: 1 }),
      entry('snapshot.failed', { error: 'ENOSPC: no space left on device', lastSavedAt: '2026-12-03T02:59:00Z' }),
      entry('step.finished', { stepId: 'a', status: 'done' }),
      entry('step.started', { stepId: 'b', attempt: 2 }),
      entry('step.skipped', { stepId: 'b' }),
      entry('step.started', { stepId: 'c', attempt: 1 }),
    ];
    expect(staleSnapshotOf(entries)).toEqual({
      failedAt: entries[1]!.at,
      error: 'ENOSPC: no space left on device',
      savedAt: '2026-12-03T02:59:00Z',
      steps: [
        { stepId: 'a', attempt: null, startedAt: null, ended: { status: 'done', at: entries[2]!.at } },
        { stepId: 'b', attempt: 2, startedAt: entries[3]!.at, ended: { status: 'skipped', at: entries[4]!.at } },
        { stepId: 'c', attempt: 1, startedAt: entries[5]!.at },
      ],
    });
  });

  it('counts from the first entry of the change whose save failed, journaled just before the failure', () => {
    const before = entry('step.finished', { stepId: 'a', status: 'done' });
    const change = entry('step.started', { stepId: 'b', attempt: 1 });
    const entries = [before, change, entry('snapshot.failed', { error: 'EISDIR', fromSeq: change.seq })];
    expect(staleSnapshotOf(entries)?.steps).toEqual([{ stepId: 'b', attempt: 1, startedAt: change.at }]);
  });

  it('is not stale once a write succeeded again, nor without any failure', () => {
    expect(
      staleSnapshotOf([entry('snapshot.failed', { error: 'EMFILE' }), entry('step.started', { stepId: 'a', attempt: 1 }), entry('snapshot.recovered')]),
    ).toBeUndefined();
    expect(staleSnapshotOf([entry('step.started', { stepId: 'a', attempt: 1 })])).toBeUndefined();
    // Failed again after recovering: stale again.
    expect(staleSnapshotOf([entry('snapshot.failed'), entry('snapshot.recovered'), entry('snapshot.failed', { error: 'EIO' })])?.error).toBe('EIO');
  });

  it('a missing saved state counts only when the journal records steps', () => {
    expect(stepsWithoutSnapshot([entry('session.started')])).toBeUndefined();
    expect(stepsWithoutSnapshot([entry('step.started', { stepId: 'a', attempt: 1 })])).toMatchObject({
      failedAt: null,
      savedAt: null,
      steps: [{ stepId: 'a' }],
    });
  });
});
