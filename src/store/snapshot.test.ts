import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSnapshot, SNAPSHOT_FILE, writeSnapshot, type SessionSnapshot } from './snapshot.js';

describe('the session snapshot', () => {
  const folder = () => mkdtempSync(path.join(tmpdir(), 'ns-snapshot-'));
  const snapshot = (stdout: number): SessionSnapshot => ({
    version: 1,
    runbookHash: 'a'.repeat(64),
    savedAt: '2026-11-29T03:15:00.000Z',
    machine: { status: 'active', value: { main: { slow: 'working' } } },
    outputs: { slow: { attempt: 2, stdout, stderr: 17 } },
  });

  it('reads back what was written, with the output offsets of running steps, and leaves no temporary file', () => {
    const dir = folder();
    writeSnapshot(dir, snapshot(4096));
    writeSnapshot(dir, snapshot(8192));
    expect(readSnapshot(dir)).toEqual(snapshot(8192));
    expect(readdirSync(dir)).toEqual([SNAPSHOT_FILE]);
  });

  it('ignores a temporary file a crash left half written', () => {
    const dir = folder();
    writeSnapshot(dir, snapshot(4096));
    writeFileSync(path.join(dir, `${SNAPSHOT_FILE}.4242.tmp`), '{"version":1,"runbookHash":"b');
    expect(readSnapshot(dir)).toEqual(snapshot(4096));
  });

  it('is absent before the first save', () => {
    expect(readSnapshot(folder())).toBeNull();
  });
});
