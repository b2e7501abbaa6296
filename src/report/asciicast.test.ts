import { describe, expect, it } from 'vitest';
import { asciicastOf, CAST_IDLE_LIMIT, type CastEvent, type CastHeader } from './asciicast.js';
import { logExcerptOf } from './log-excerpt.js';
import { sessionRecordOf } from './session-record.js';
import { TEST_START, TestJournal } from '../../test/support/test-journal.js';

function parse(cast: string): { header: CastHeader; events: CastEvent[] } {
  const [first, ...rest] = cast.trimEnd().split('\n');
  return { header: JSON.parse(first!) as CastHeader, events: rest.map((line) => JSON.parse(line) as CastEvent) };
}

describe('asciicastOf', () => {
  const journal = new TestJournal()
    .started()
    .add(1, 'step.started', { stepId: 'restore-1', attempt: 1 })
    .add(11, 'output.closed', { stepId: 'restore-1', attempt: 1, file: 'output/restore-1.1.log', bytes: 100, lines: 5 })
    .add(11, 'step.finished', { stepId: 'restore-1', status: 'failed', exitCode: 1, durationMs: 10_000 })
    // An hour later: the recording does not make anyone wait for it.
    .add(3611, 'step.started', { stepId: 'restore-1', attempt: 2 })
    .add(3612, 'output.closed', { stepId: 'restore-1', attempt: 2, file: 'output/restore-1.2.log', bytes: 100, lines: 2 })
    .add(3612, 'step.finished', { stepId: 'restore-1', status: 'done', exitCode: 0, durationMs: 1000 })
    .add(3613, 'run.finished', { outcome: 'completed' });
  const record = sessionRecordOf({ entries: journal.entries });
  const logs = new Map([
    ['restore-1.1', logExcerptOf('output/restore-1.1.log', 'one\ntwo\x1b]0;owned\x07\nthree\nfour\nfive\n')],
    ['restore-1.2', logExcerptOf('output/restore-1.2.log', 'again\ndone\n')],
  ]);
  const cast = asciicastOf(record, logs);

  it('is asciicast v2: a header line, then [time, "o", text] events, one JSON value a line', () => {
    const { header, events } = parse(cast);
    expect(header).toMatchObject({ version: 2, height: 40, timestamp: Math.floor(TEST_START / 1000), idle_time_limit: CAST_IDLE_LIMIT });
    expect(header.width).toBeGreaterThanOrEqual(80);
    expect(header.title).toContain('Gateway swap');
    for (const event of events) {
      expect(event).toHaveLength(3);
      expect(typeof event[0]).toBe('number');
      expect(event[1]).toBe('o');
      expect(event[2]).not.toMatch(/(?<!\r)\n/);
    }
  });

  it('plays each attempt under a heading, its output spread over its run, with no pause longer than the limit', () => {
    const { events } = parse(cast);
    const times = events.map((event) => event[0]);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    for (let index = 1; index < times.length; index++) expect(times[index]! - times[index - 1]!).toBeLessThanOrEqual(CAST_IDLE_LIMIT);
    const text = events.map((event) => event[2]).join('');
    expect(text).toContain('1.1 Restore root (on dolphin), attempt 1');
    expect(text).toContain('one\r\ntwo\r\nthree\r\nfour\r\nfive\r\n');
    expect(text).not.toContain('owned');
    expect(text.indexOf('attempt 2')).toBeGreaterThan(text.indexOf('five'));
    expect(text).toContain('again\r\ndone\r\n');
    expect(text).toContain('Outcome: completed');
  });
});
