import { describe, expect, it } from 'vitest';
import { TEST_SESSION, TestJournal } from '../../test/support/test-journal.js';
import { reportHtml } from './report-html.js';
import { reportMarkdown } from './report-markdown.js';
import { sessionRecordOf } from './session-record.js';

const paths = { sessionDir: '/state/sessions/20261129-080000-abcd' };
const nightshift = { role: 'nightshift', name: 'nightshift' };

/** A run whose phase swap fell back to its own fallback, which failed, and then to the runbook's; `scope`: the phase name as journaled. */
function fellBackTwice(scope = 'swap') {
  const journal = new TestJournal()
    .add(0, 'run.started', {
      ...TEST_SESSION,
      by: { role: 'upgrader', name: 'ana' },
      host: 'laptop',
      pid: 4242,
      phases: [{ name: 'swap', title: 'Swap the address' }],
      steps: [
        { id: 'swap-1', number: '1.1', phase: 'swap', title: 'Add the address', kind: 'run', place: 'on new', command: 'ip addr add' },
        { id: 'swap-fallback-1', number: '1.F1', phase: 'swap', title: 'Take it away', kind: 'run', place: 'on new', command: 'ip addr del' },
        { id: 'fallback-1', number: 'F1', phase: null, title: 'Swing back', kind: 'local', place: 'locally', command: 'swing-back' },
      ],
    })
    .add(1, 'step.started', { stepId: 'swap-1', attempt: 1 })
    .add(2, 'step.finished', { stepId: 'swap-1', status: 'failed', exitCode: 2, error: 'exited with status 2', durationMs: 1000 })
    .add(2, 'fallback.started', { by: nightshift, reason: 'step 1.1 failed and says on_fail: fallback', fromStepId: 'swap-1', scope })
    .add(3, 'step.started', { stepId: 'swap-fallback-1', attempt: 1 })
    .add(4, 'step.finished', { stepId: 'swap-fallback-1', status: 'failed', exitCode: 1, error: 'exited with status 1', durationMs: 1000 })
    .add(4, 'fallback.started', { by: nightshift, reason: "the runbook's fallback follows", fromStepId: 'swap-fallback-1', scope: null })
    .add(5, 'step.started', { stepId: 'fallback-1', attempt: 1 })
    .add(6, 'step.finished', { stepId: 'fallback-1', status: 'done', exitCode: 0, durationMs: 1000 })
    .add(6, 'run.finished', { outcome: 'fell-back' });
  return sessionRecordOf({ entries: journal.entries });
}

describe('the report of a run that fell back in scopes', () => {
  it('says which scopes fell back, in order, and counts a phase fallback step as a fallback attempt', () => {
    const record = fellBackTwice();
    expect(record.fallbacks).toEqual(['fallback of phase swap', "the runbook's fallback"]);
    expect(record.attempts.map((attempt) => [attempt.stepId, attempt.fallback])).toEqual([
      ['swap-1', false],
      ['swap-fallback-1', true],
      ['fallback-1', true],
    ]);
    expect(record.events.map((event) => event.text)).toContain(
      'fallback of phase swap started from step 1.1 by nightshift: step 1.1 failed and says on_fail: fallback',
    );
    expect(reportMarkdown(record, new Map(), paths)).toMatch(/\(fallback of phase swap, then the runbook's fallback\)/);
    expect(reportHtml(record, new Map(), paths)).toMatch(/\(fallback of phase swap, then the runbook(&#39;|&#x27;|')s fallback\)/);
  });

  it('shows a hostile scope name from the journal as text', () => {
    const record = fellBackTwice('sw\u001b]0;owned\u0007<b>ap');
    expect(record.fallbacks[0]).toBe('fallback of phase sw^[]0;owned^G<b>ap');
    const page = reportHtml(record, new Map(), paths);
    expect(page).not.toContain('\u001b');
    expect(page).not.toContain('<b>ap');
  });
});
