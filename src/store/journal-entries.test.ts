import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENGINE_SAMPLES, ENTRY_SAMPLES, sample } from '../../test/support/journal-samples.js';
import { checkEntry, ENTRY_TYPES, type EntryType } from './journal-entries.js';
import { Journal, JOURNAL_STRICT_ENV, readJournalChecked } from './journal.js';

const file = () => path.join(mkdtempSync(path.join(tmpdir(), 'ns-entries-')), 'journal.jsonl');
const head = (seq: number) => ({ seq, at: '2026-12-03T03:00:00.000Z' });

describe('the journal schema', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('has a sample of every entry type, and takes each as written, strictly', () => {
    expect(Object.keys(ENTRY_SAMPLES).sort()).toEqual([...ENTRY_TYPES].sort());
    for (const [type, fields] of Object.entries(ENTRY_SAMPLES)) {
      const check = checkEntry({ ...head(1), type, ...fields }, true);
      expect(check.ok ? 'ok' : check.problem, type).toBe('ok');
    }
  });

  it('takes every variant of the engine events as the engine emits them', () => {
    for (const [type, fields] of Object.entries(ENGINE_SAMPLES)) {
      expect(checkEntry(JSON.parse(JSON.stringify({ ...head(1), type, ...fields })), true).ok, type).toBe(true);
    }
    // What step.refused gained: a whole-run action, with no step.
    expect(checkEntry({ ...head(1), type: 'step.refused', ...sample('step.refused'), stepId: null, action: 'PAUSE' }, true).ok).toBe(true);
  });

  it('takes a login of the check that the run went on with, and a host state written before there was such a field', () => {
    const kept = { ...head(1), type: 'host.state', host: 'h001', state: 'connected', loggedInBy: 'check' };
    expect(checkEntry(kept, true)).toMatchObject({ ok: true, entry: { loggedInBy: 'check' } });
    expect(checkEntry({ ...head(2), type: 'host.state', host: 'h001', state: 'connected' }, true).ok).toBe(true);
    expect(checkEntry({ ...kept, loggedInBy: 'step' }, true).ok).toBe(false);
  });

  it('refuses a field a type does not declare when writing, and keeps it when reading (an older or newer writer)', () => {
    const entry = { ...head(1), type: 'step.released', stepId: 'a', colour: 'red' };
    expect(checkEntry(entry, true)).toMatchObject({ ok: false, unknownType: false, type: 'step.released' });
    expect(checkEntry(entry)).toMatchObject({ ok: true, entry: { colour: 'red' } });
  });

  it('in the tests (strict), an entry that does not match its schema is an error and is not written', () => {
    vi.stubEnv(JOURNAL_STRICT_ENV, '1');
    const at = file();
    const journal = new Journal(at);
    expect(() => journal.append('step.started', { stepId: 'a', attempt: 'one' as unknown as number })).toThrow(
      /entry 1 \(step\.started\) does not match its schema in src\/store\/journal-entries\.ts: .*attempt/,
    );
    expect(journal.append('step.started', { stepId: 'a', attempt: 1 }).seq).toBe(1);
    journal.close();
    expect(readJournalChecked(at).entries.map((entry) => entry.type)).toEqual(['step.started']);
  });

  it('in production, such an entry is written all the same and followed by journal.invalid, which the reader takes', () => {
    vi.stubEnv(JOURNAL_STRICT_ENV, '');
    const at = file();
    const journal = new Journal(at);
    journal.hold('step.started', { stepId: 'a', attempt: 'one' as unknown as number });
    journal.append('step.released', { stepId: 'a' });
    journal.close();
    const lines = readFileSync(at, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => [line['seq'], line['type']])).toEqual([
      [1, 'step.started'],
      [2, 'step.released'],
      [3, 'journal.invalid'],
    ]);
    expect(lines[0]).toMatchObject({ attempt: 'one' });
    expect(lines[2]).toMatchObject({ entrySeq: 1, entryType: 'step.started', problem: expect.stringContaining('attempt') });
    const reading = readJournalChecked(at);
    expect(reading.entries.map((entry) => entry.type)).toEqual(['step.released', 'journal.invalid']);
    expect(reading.problems).toEqual([expect.objectContaining({ line: 1, type: 'step.started', unknownType: false })]);
  });
});

describe('reading a journal with lines this nightshift cannot read', () => {
  it('leaves out an entry of an unknown type and says which file, line and type, and what to do', () => {
    const at = file();
    writeFileSync(
      at,
      [JSON.stringify({ ...head(1), type: 'step.released', stepId: 'a' }), JSON.stringify({ ...head(2), type: 'step.teleported', stepId: 'a' }), ''].join('\n'),
    );
    const reading = readJournalChecked(at);
    expect(reading.entries.map((entry) => entry.seq)).toEqual([1]);
    expect(reading.problems).toHaveLength(1);
    const [problem] = reading.problems!;
    expect(problem).toMatchObject({ line: 2, type: 'step.teleported', unknownType: true, entry: { seq: 2, stepId: 'a' } });
    expect(problem!.message).toBe(
      `${at}:2: an entry of type "step.teleported", which this version of nightshift does not know (a newer one wrote it?): read this session with the nightshift that wrote it.`,
    );
  });

  it('leaves out a known entry whose fields are not as declared and says what is wrong', () => {
    const at = file();
    writeFileSync(at, `${JSON.stringify({ ...head(1), type: 'step.finished', stepId: 'a', status: 'maybe', durationMs: 3 })}\n`);
    const { entries, problems } = readJournalChecked(at);
    expect(entries).toEqual([]);
    expect(problems![0]).toMatchObject({ line: 1, type: 'step.finished', unknownType: false });
    expect(problems![0]!.message).toMatch(
      new RegExp(`^${at.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: an entry of type "step.finished" that is not as that type is written \\(.*status.*\\)`),
    );
  });

  it('keeps every sample entry through a write and a read', () => {
    const at = file();
    const journal = new Journal(at);
    for (const type of ENTRY_TYPES) journal.append(type as EntryType, sample(type as EntryType) as never);
    journal.close();
    const reading = readJournalChecked(at);
    expect(reading.problems).toBeUndefined();
    expect(reading.entries.map((entry) => entry.type)).toEqual(ENTRY_TYPES);
  });
});
