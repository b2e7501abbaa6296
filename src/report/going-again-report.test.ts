import { describe, expect, it } from 'vitest';
import { reportHtml } from './report-html.js';
import { reportMarkdown } from './report-markdown.js';
import { sessionRecordOf } from './session-record.js';
import { TEST_SESSION, TestJournal } from '../../test/support/test-journal.js';

const paths = { sessionDir: '/state/sessions/20261130-080000-beef' };
const HOSTILE = '<script>x</script>\x1b]0;owned\x07\x1b[2J';

function goneAgain(session: string | null, output = '10.0.0.1/24\n') {
  const journal = new TestJournal()
    .add(0, 'run.started', {
      ...TEST_SESSION,
      session: '20261130-080000-beef',
      by: { role: 'upgrader', name: 'ana' },
      host: 'laptop',
      pid: 4242,
      phases: [
        { name: 'restore', title: 'Restore root' },
        { name: 'cutover', title: 'Move the address' },
      ],
      steps: [
        { id: 'restore-1', number: '1.1', phase: 'restore', title: 'Restore root', kind: 'run', place: 'on dolphin', command: 'tar -xzf root.tar.gz' },
        { id: 'cutover-1', number: '2.1', phase: 'cutover', title: 'Move the address', kind: 'run', place: 'on dolphin', command: 'ip addr add' },
        { id: 'cutover-2', number: '2.2', phase: 'cutover', title: 'Verify', kind: 'run', place: 'on dolphin', command: 'verify' },
      ],
      again: { from: 'cutover', session },
    })
    .add(1, 'step.found-done', { stepId: 'cutover-1', output })
    .add(2, 'step.started', { stepId: 'cutover-2', attempt: 1 })
    .add(3, 'step.finished', { stepId: 'cutover-2', status: 'done', exitCode: 0, durationMs: 1000 })
    .add(4, 'run.finished', { outcome: 'completed' });
  return sessionRecordOf({ entries: journal.entries });
}

describe('the report of a session that goes again', () => {
  it('says which session it goes again from, the steps before as done by it, and a step found done with its check output', () => {
    const markdown = reportMarkdown(goneAgain('20261129-080000-abcd'), new Map(), paths);
    expect(markdown).toContain('- Goes again from phase cutover of session 20261129-080000-abcd');
    expect(markdown).toMatch(/### 1\.1 Restore root[\s\S]*Done by session 20261129-080000-abcd\./);
    expect(markdown).toMatch(/### 2\.1 Move the address[\s\S]*Already done \(check passed\): not run\.\n\n```\n10\.0\.0\.1\/24\n```/);
    expect(markdown).toMatch(/### 2\.2 Verify[\s\S]*\*\*Attempt 1\*\*: done/);
  });

  it('without an earlier session, says the steps before were not run', () => {
    const record = goneAgain(null);
    const markdown = reportMarkdown(record, new Map(), paths);
    expect(markdown).toContain('no earlier session was known');
    expect(markdown).toMatch(/### 1\.1 Restore root[\s\S]*Not run: the run started at phase cutover\./);
    expect(reportHtml(record, new Map(), paths)).toContain('Not run: the run started at phase cutover.');
  });

  it('the old session lists the sessions gone again in it', () => {
    const record = goneAgain(null);
    record.goneAgainIn = ['20261201-080000-cafe'];
    expect(reportMarkdown(record, new Map(), paths)).toContain('- Gone again in session 20261201-080000-cafe');
    expect(reportHtml(record, new Map(), paths)).toMatch(/<dt>Linked session<\/dt><dd class="linked-session">Gone again in session 20261201-080000-cafe<\/dd>/);
  });

  it("shows a check's hostile output as harmless text", () => {
    const record = goneAgain('20261129-080000-abcd', HOSTILE);
    const page = reportHtml(record, new Map(), paths);
    const markdown = reportMarkdown(record, new Map(), paths);
    for (const text of [page, markdown]) {
      expect(text).not.toContain('\x1b');
      expect(text).not.toContain('\x07');
    }
    expect(page).not.toMatch(/<script/);
    expect(page).toContain('&lt;script&gt;x&lt;/script&gt;');
  });
});
