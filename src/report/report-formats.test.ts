import { describe, expect, it } from 'vitest';
import { logExcerptOf } from './log-excerpt.js';
import { reportHtml } from './report-html.js';
import { mdCode, mdText, reportMarkdown } from './report-markdown.js';
import { sessionRecordOf } from './session-record.js';
import { TestJournal } from '../../test/support/test-journal.js';

const HOSTILE = '<script>alert("x")</script> \x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m <img src=https://evil.example/x.png> ``` & done';
const paths = { sessionDir: '/state/sessions/20261129-080000-abcd' };

function hostileSession() {
  const journal = new TestJournal()
    .started()
    .add(1, 'step.started', { stepId: 'restore-1', attempt: 1 })
    .add(2, 'output.closed', { stepId: 'restore-1', attempt: 1, file: 'output/restore-1.1.log', bytes: 100, lines: 1 })
    .add(2, 'step.finished', { stepId: 'restore-1', status: 'failed', exitCode: 1, error: HOSTILE, durationMs: 1000 })
    .add(3, 'step.skipped', { stepId: 'restore-1', by: { role: 'upgrader', name: 'ana' }, reason: HOSTILE })
    .add(4, 'chat.message', { from: { role: 'sentinel', name: '<b>mei</b>' }, text: HOSTILE });
  const record = sessionRecordOf({ entries: journal.entries });
  const logs = new Map([['restore-1.1', logExcerptOf('output/restore-1.1.log', `${HOSTILE}\n`)]]);
  return { record, logs };
}

describe('the HTML page', () => {
  it('shows step output and chat full of tags and escape sequences as harmless text', () => {
    const { record, logs } = hostileSession();
    const page = reportHtml(record, logs, paths);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<img/i);
    expect(page).not.toMatch(/<b>mei/);
    expect(page).not.toContain('\x1b');
    expect(page).not.toContain('\x07');
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    // The output, the chat message, the error and the skip reason: each of them escaped.
    expect(page.match(/&lt;script&gt;/g)!.length).toBeGreaterThanOrEqual(4);
    expect(page).toContain('&lt;b&gt;mei&lt;/b&gt;');
  });

  it('draws one bar per attempt, and needs nothing from outside', () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'step.started', { stepId: 'restore-1', attempt: 1 })
      .add(2, 'step.finished', { stepId: 'restore-1', status: 'failed', exitCode: 1, durationMs: 1000 })
      .add(3, 'step.started', { stepId: 'restore-1', attempt: 2 })
      .add(4, 'step.finished', { stepId: 'restore-1', status: 'done', exitCode: 0, durationMs: 1000 })
      .add(5, 'fallback.started', { by: { role: 'upgrader', name: 'ana' }, reason: 'why not', fromStepId: null })
      .add(5, 'step.started', { stepId: 'fallback-1', attempt: 1 })
      .add(6, 'step.finished', { stepId: 'fallback-1', status: 'done', exitCode: 0, durationMs: 1000 });
    const page = reportHtml(sessionRecordOf({ entries: journal.entries }), new Map(), paths);
    const bars = [...page.matchAll(/<rect class="step-bar([^"]*)" data-step="([^"]+)" data-attempt="(\d+)"/g)];
    expect(bars.map((bar) => [bar[2], bar[3]])).toEqual([
      ['restore-1', '1'],
      ['restore-1', '2'],
      ['fallback-1', '1'],
    ]);
    expect(bars.map((bar) => bar[1])).toEqual([' failed', ' done', ' fallback done']);
    expect(page).not.toMatch(/(src|href)=|url\((?!#)|@import|<script/);
    expect(page).toContain('No chat.');
    // Tick labels in both sites' clocks: 08:00 UTC is 03:00 in New York and 16:00 in Taipei.
    expect(page).toMatch(/>03:00:0\d</);
    expect(page).toMatch(/>16:00:0\d</);
  });

  it('labels the ticks of a session shorter than two seconds to the tenth, each label its own', () => {
    const journal = new TestJournal()
      .started()
      .add(0.2, 'step.started', { stepId: 'restore-1', attempt: 1 })
      .add(1.4, 'step.finished', { stepId: 'restore-1', status: 'done', exitCode: 0, durationMs: 1200 });
    const page = reportHtml(sessionRecordOf({ entries: journal.entries }), new Map(), paths);
    const ticks = [...page.matchAll(/<g class="tick">[\s\S]*?<\/g>/g)].map((tick) => [...tick[0].matchAll(/>([^<]+)<\/text>/g)].map((text) => text[1]));
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    // 08:00 UTC is 03:00 in New York and 16:00 in Taipei; the tenths agree.
    for (const [upgrader, site] of ticks) {
      expect(upgrader).toMatch(/^03:00:0\d\.\d$/);
      expect(site).toBe(upgrader!.replace(/^03/, '16'));
    }
    expect(new Set(ticks.map(([upgrader]) => upgrader)).size).toBe(ticks.length);
  });

  it('shows the last lines of a long output and says how many were left out and where the rest is', () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'step.started', { stepId: 'restore-1', attempt: 1 })
      .add(2, 'output.closed', { stepId: 'restore-1', attempt: 1, file: 'output/restore-1.1.log', bytes: 100, lines: 2500 })
      .add(2, 'step.finished', { stepId: 'restore-1', status: 'done', exitCode: 0, durationMs: 1000 });
    const text = Array.from({ length: 2500 }, (_, index) => `line ${index + 1}`).join('\n');
    const logs = new Map([['restore-1.1', logExcerptOf('output/restore-1.1.log', text)]]);
    const page = reportHtml(sessionRecordOf({ entries: journal.entries }), logs, paths);
    expect(page).toContain('The first 500 lines are left out; the full log is /state/sessions/20261129-080000-abcd/output/restore-1.1.log.');
    expect(page).not.toContain('line 500\n');
    expect(page).toContain('line 501\n');
    expect(page).toContain('line 2500</pre>');
  });
});

describe('the Markdown', () => {
  it('shows step output and chat full of tags and escape sequences as harmless text', () => {
    const { record, logs } = hostileSession();
    const markdown = reportMarkdown(record, logs, paths);
    expect(markdown).not.toContain('\x1b');
    // Outside code blocks no tag survives; inside one, text is shown as it is.
    const prose = markdown.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gm, '');
    expect(prose).not.toMatch(/<script|<img|<b>/i);
    expect(prose).toContain('&lt;script&gt;');
    expect(prose).toContain('&lt;b&gt;mei&lt;/b&gt;');
    // Output goes in a fence longer than the backticks inside it.
    expect(markdown).toContain('````\n<script>alert("x")</script>');
  });

  it('escapes what would turn into Markdown', () => {
    expect(mdText('a|b *c* [d](e) <f> `g`')).toBe('a\\|b \\*c\\* \\[d\\](e) &lt;f&gt; \\`g\\`');
    expect(mdCode('x ```` y')).toBe('`````\nx ```` y\n`````');
  });
});
