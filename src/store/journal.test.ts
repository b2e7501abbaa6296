import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sample } from '../../test/support/journal-samples.js';
import { Journal, type JournalTrouble, journalTroubleText, readJournalChecked } from './journal.js';
import { scratchFolders } from '../../test/support/scratch-folder.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

describe('reading a journal', () => {
  const file = () => path.join(scratch('ns-journal-'), 'journal.jsonl');

  it('tolerates a torn last line and reports it', () => {
    const at = file();
    const journal = new Journal(at);
    journal.append('run.started', sample('run.started'));
    journal.append('step.started', { stepId: 'a', attempt: 1 });
    journal.close();
    writeFileSync(at, '{"seq":3,"at":"2026-11', { flag: 'a' });
    const reading = readJournalChecked(at);
    expect(reading.entries.map((entry) => entry.seq)).toEqual([1, 2]);
    expect(reading.torn).toEqual({ line: 3, text: '{"seq":3,"at":"2026-11' });
  });

  it('refuses a broken line that is not the last: the file was damaged', () => {
    const at = file();
    writeFileSync(at, '{"seq":1,"at":"x","type":"a"}\nnot json\n{"seq":2,"at":"x","type":"b"}\n');
    expect(() => readJournalChecked(at)).toThrow(/journal.jsonl:2: the journal is damaged/);
  });

  it('numbers on from the last entry when appending to an existing journal', () => {
    const at = file();
    new Journal(at).append('run.started', sample('run.started'));
    const again = new Journal(at, 1);
    expect(again.append('session.resumed', sample('session.resumed')).seq).toBe(2);
  });

  it('ends a whole last entry that lacks its newline before appending, so the next entry does not join it', () => {
    const at = file();
    const first = JSON.stringify({ seq: 1, at: '2026-11-22T03:15:00.000Z', type: 'run.started', ...sample('run.started') });
    writeFileSync(at, `${first}\n{"seq":2,"at":"2026-11-22T03:15:01.000Z","type":"step.started","stepId":"a","attempt":1}`);
    const again = new Journal(at, 2);
    again.append('session.resumed', sample('session.resumed'));
    again.close();
    const reading = readJournalChecked(at);
    expect(reading.torn).toBeUndefined();
    expect(reading.entries.map((entry) => [entry.seq, entry.type])).toEqual([
      [1, 'run.started'],
      [2, 'step.started'],
      [3, 'session.resumed'],
    ]);
  });

  it('leaves a journal that ends with its newline as it is', () => {
    const at = file();
    const journal = new Journal(at);
    journal.append('run.started', sample('run.started'));
    journal.close();
    const before = readFileSync(at, 'utf8');
    new Journal(at, 1).close();
    expect(readFileSync(at, 'utf8')).toBe(before);
  });
});

describe.runIf(existsSync('/dev/full'))('a journal on a disk that takes nothing (/dev/full)', () => {
  it('keeps its entries instead of throwing, says so once, and says at close how many it never took', () => {
    const dir = scratch('ns-journal-full-');
    const at = path.join(dir, 'journal.jsonl');
    symlinkSync('/dev/full', at);
    const journal = new Journal(at);
    const troubles: JournalTrouble[] = [];
    journal.onTrouble((trouble) => troubles.push(trouble));
    const written: number[] = [];
    journal.onWritten((entry) => written.push(entry.seq));

    expect(journal.append('run.started', sample('run.started')).seq).toBe(1);
    expect(journal.append('session.resumed', sample('session.resumed')).seq).toBe(2);
    expect(journal.failing).toBe(true);
    journal.close();

    expect(written).toEqual([]);
    expect(troubles).toEqual([
      { kind: 'failed', file: at, error: 'ENOSPC: no space left on device' },
      { kind: 'lost', file: at, entries: 2, error: 'ENOSPC: no space left on device' },
    ]);
    expect(journalTroubleText(troubles[1]!)).toBe(
      `the journal ${at} never took its last 2 entries (ENOSPC: no space left on device): the record of this run ends before them; a resume starts from what was saved.`,
    );
  });
});
