// A small journal for the report's tests, written the way the runner writes one.
import type { JournalEntry } from '../../src/store/journal.js';

const START = Date.parse('2026-11-29T08:00:00.000Z');

export class TestJournal {
  readonly entries: JournalEntry[] = [];

  /** Appends an entry `seconds` after the start. */
  add(seconds: number, type: string, fields: Record<string, unknown> = {}): this {
    this.entries.push({ seq: this.entries.length + 1, at: new Date(START + seconds * 1000).toISOString(), type, ...fields });
    return this;
  }

  started(seconds = 0): this {
    return this.add(seconds, 'run.started', {
      session: '20261129-080000-abcd',
      runbook: { name: 'Gateway swap', file: '/runbooks/gateway-swap.yaml', hash: 'f00d' },
      sites: { upgrader: { name: 'Massachusetts office', tz: 'America/New_York' }, site: { name: 'Taipei office', tz: 'Asia/Taipei' } },
      by: { role: 'upgrader', name: 'ana' },
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
