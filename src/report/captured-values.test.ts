import { describe, expect, it } from 'vitest';
import { reportHtml } from './report-html.js';
import { reportMarkdown } from './report-markdown.js';
import { sessionRecordOf } from './session-record.js';
import { TestJournal } from '../../test/support/test-journal.js';

const paths = { sessionDir: '/state/sessions/20261129-080000-abcd' };

describe('captured values in the session report', () => {
  const journal = new TestJournal()
    .started()
    .add(1, 'step.started', { stepId: 'restore-1', attempt: 1 })
    .add(2, 'value.captured', { stepId: 'restore-1', name: 'root_uuid', value: '4f1c-aa <b>x</b>' })
    .add(2, 'step.finished', { stepId: 'restore-1', status: 'done', exitCode: 0, durationMs: 1000 });
  const record = sessionRecordOf({ entries: journal.entries });

  it('are in the record, by step', () => {
    expect(record.values).toEqual([{ stepId: 'restore-1', name: 'root_uuid', value: '4f1c-aa <b>x</b>', at: expect.any(Number) }]);
  });

  it('show as name and value with their step, escaped, in Markdown and HTML', () => {
    const markdown = reportMarkdown(record, new Map(), paths);
    expect(markdown).toContain('## Captured values');
    expect(markdown).toContain('| 1.1 Restore root | root\\_uuid | 4f1c-aa &lt;b&gt;x&lt;/b&gt; |');
    const page = reportHtml(record, new Map(), paths);
    expect(page).toContain('<h2>Captured values</h2>');
    expect(page).toContain('4f1c-aa &lt;b&gt;x&lt;/b&gt;');
    expect(page).not.toContain('<b>x</b>');
  });

  it('leave no section when nothing was captured', () => {
    const none = sessionRecordOf({ entries: new TestJournal().started().entries });
    expect(reportMarkdown(none, new Map(), paths)).not.toContain('Captured values');
  });
});
