import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sample } from '../../test/support/journal-samples.js';
import { Journal, readJournal } from './journal.js';
import { META_FILE, reopenSession } from './session.js';
import { writeSnapshot } from './snapshot.js';

describe('reopening a session', () => {
  function sessionFolder(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-session-'));
    mkdirSync(path.join(dir, 'output'));
    writeFileSync(path.join(dir, META_FILE), JSON.stringify({ runbookFile: '/nowhere/rb.yaml', vars: {}, connect: {} }));
    return dir;
  }

  it('writes the entries of the last saved change that a crash kept from the journal, in order', () => {
    const dir = sessionFolder();
    const journal = new Journal(path.join(dir, 'journal.jsonl'));
    journal.append('run.started', sample('run.started'));
    journal.append('step.started', { stepId: 'sync', attempt: 1 });
    // The change that ended the step: saved with its entries, then the crash came before
    // they reached the journal.
    const finished = journal.hold('step.finished', { stepId: 'sync', status: 'done', exitCode: 0, durationMs: 1000 });
    const next = journal.hold('step.started', { stepId: 'after', attempt: 1 });
    writeSnapshot(dir, { version: 1, runbookHash: 'h', savedAt: new Date().toISOString(), machine: {}, journalEntries: [finished, next] });

    const { session, reading } = reopenSession(dir);
    try {
      expect(reading.entries.map((entry) => entry.seq)).toEqual([1, 2, 3, 4]);
      session.journal.append('session.resumed', { ...sample('session.resumed'), stepId: null });
    } finally {
      session.journal.close();
      session.lock.release();
    }
    expect(readJournal(path.join(dir, 'journal.jsonl')).map((entry) => [entry.seq, entry.type, entry['stepId']])).toEqual([
      [1, 'run.started', undefined],
      [2, 'step.started', 'sync'],
      [3, 'step.finished', 'sync'],
      [4, 'step.started', 'after'],
      [5, 'session.resumed', null],
    ]);
  });

  it('writes nothing twice when the journal already has the saved change', () => {
    const dir = sessionFolder();
    const journal = new Journal(path.join(dir, 'journal.jsonl'));
    journal.append('run.started', sample('run.started'));
    const started = journal.hold('step.started', { stepId: 'sync', attempt: 1 });
    writeSnapshot(dir, { version: 1, runbookHash: 'h', savedAt: new Date().toISOString(), machine: {}, journalEntries: [started] });
    journal.release();
    journal.close();
    const before = readFileSync(path.join(dir, 'journal.jsonl'), 'utf8');

    const { session, reading } = reopenSession(dir);
    session.journal.close();
    session.lock.release();
    expect(reading.entries).toHaveLength(2);
    expect(readFileSync(path.join(dir, 'journal.jsonl'), 'utf8')).toBe(before);
  });
});
