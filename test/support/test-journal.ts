// A small journal for the report's tests, written the way the runner writes one and read
// the way the report reads one (each entry parsed with its schema).
import { checkEntry, type EntryFields, type EntryType, type JournalEntry } from '../../src/store/journal-entries.js';
import type { JournalProblem, JournalReading } from '../../src/store/journal.js';

const START = Date.parse('2026-11-29T08:00:00.000Z');

/** What run.started and session.resumed say of the session. */
export const TEST_SESSION = {
  session: '20261129-080000-abcd',
  runbook: { name: 'Gateway swap', file: '/runbooks/gateway-swap.yaml', hash: 'f00d' },
  sites: { upgrader: { name: 'Massachusetts office', tz: 'America/New_York' }, site: { name: 'Taipei office', tz: 'Asia/Taipei' } },
};

export class TestJournal {
  private readonly lines: Array<{ line: Record<string, unknown>; raw: boolean }> = [];

  /** Appends an entry `seconds` after the start. */
  add<T extends EntryType>(seconds: number, type: T, fields: EntryFields<T>): this {
    this.lines.push({ line: this.line(seconds, type, fields), raw: false });
    return this;
  }

  /** Appends an entry of any type and fields: one a newer nightshift could have written, or a damaged one. */
  addRaw(seconds: number, type: string, fields: object = {}): this {
    this.lines.push({ line: this.line(seconds, type, fields), raw: true });
    return this;
  }

  private line(seconds: number, type: string, fields: object): Record<string, unknown> {
    return { seq: this.lines.length + 1, at: new Date(START + seconds * 1000).toISOString(), type, ...fields };
  }

  /**
   * The journal as readJournalChecked gives it: the entries its schemas accept, the problems
   * of the others. An entry added with `add` must match its schema, as the runner's must.
   */
  reading(): JournalReading {
    const entries: JournalEntry[] = [];
    const problems: JournalProblem[] = [];
    this.lines.forEach(({ line, raw }, index) => {
      const check = checkEntry(line, !raw);
      if (check.ok) entries.push(check.entry);
      else if (!raw) throw new Error(`entry ${index + 1} (${check.type}) of the test journal does not match its schema: ${check.problem}`);
      else {
        const entry = { ...line, seq: line['seq'] as number, at: line['at'] as string, type: check.type };
        problems.push({ line: index + 1, type: check.type, unknownType: check.unknownType, message: `journal.jsonl:${index + 1}: ${check.problem}`, entry });
      }
    });
    return problems.length > 0 ? { entries, problems } : { entries };
  }

  get entries(): JournalEntry[] {
    return this.reading().entries;
  }

  started(seconds = 0): this {
    return this.add(seconds, 'run.started', {
      ...TEST_SESSION,
      by: { role: 'upgrader', name: 'ana' },
      host: 'laptop',
      pid: 4242,
      phases: [
        { name: 'restore', title: 'Restore root' },
        { name: 'cutover', title: 'Move the modem' },
      ],
      steps: [
        { id: 'restore-1', number: '1.1', phase: 'restore', title: 'Restore root', kind: 'run', place: 'on dolphin', command: 'tar -xzf root.tar.gz' },
        { id: 'restore-2', number: '1.2', phase: 'restore', title: 'Check root', kind: 'run', place: 'on dolphin', command: 'ls newroot' },
        { id: 'cutover-1', number: '2.1', phase: 'cutover', title: 'Move the cable', kind: 'checkpoint', place: 'sentinel', text: 'Move it' },
        { id: 'fallback-1', number: 'F1', phase: null, title: 'Swing back', kind: 'run', place: 'on dragon', command: 'swing-back' },
      ],
    });
  }
}

export { START as TEST_START };
