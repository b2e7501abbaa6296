import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSnapshot, SNAPSHOT_FILE, SnapshotWriter, snapshotTroubleText, writeSnapshot, type SessionSnapshot, type SnapshotTrouble } from './snapshot.js';

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

  it('a writer that cannot write says so once per stretch, journals it, throws nothing and leaves no temporary file', () => {
    const dir = folder();
    const journal: Array<[string, Record<string, unknown>]> = [];
    const told: SnapshotTrouble[] = [];
    const writer = new SnapshotWriter(dir, { append: (type, fields) => journal.push([type, fields]) });
    writer.onTrouble((trouble) => told.push(trouble));
    expect(writer.write(snapshot(1))).toBe(true);
    // A folder where the snapshot goes: the rename fails (EISDIR).
    rmSync(path.join(dir, SNAPSHOT_FILE));
    mkdirSync(path.join(dir, SNAPSHOT_FILE, 'in-the-way'), { recursive: true });
    expect(writer.write(snapshot(2))).toBe(false);
    expect(writer.write(snapshot(3))).toBe(false);
    expect(readdirSync(dir)).toEqual([SNAPSHOT_FILE]);
    expect(journal.map(([type]) => type)).toEqual(['snapshot.failed']);
    expect(journal[0]![1]).toEqual({ file: path.join(dir, SNAPSHOT_FILE), error: expect.stringMatching(/EISDIR/), lastSavedAt: expect.any(String) });
    expect(told).toHaveLength(1);
    const text = snapshotTroubleText(told[0]!, () => '03:15:02');
    expect(text).toMatch(/^could not save the run's state in .*snapshot\.json \(EISDIR.*\): the run goes on .* from the state saved at 03:15:02;/);
    // Out of the way again: written at the next change, and said once.
    rmSync(path.join(dir, SNAPSHOT_FILE), { recursive: true });
    expect(writer.write(snapshot(4))).toBe(true);
    expect(writer.write(snapshot(5))).toBe(true);
    expect(readSnapshot(dir)).toEqual(snapshot(5));
    expect(journal.map(([type]) => type)).toEqual(['snapshot.failed', 'snapshot.recovered']);
    expect(journal[1]![1]).toEqual({ file: path.join(dir, SNAPSHOT_FILE), failures: 2 });
    expect(told.map((trouble) => trouble.kind)).toEqual(['failed', 'recovered']);
  });
});
