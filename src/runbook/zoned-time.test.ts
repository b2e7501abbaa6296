import { afterEach, describe, expect, it } from 'vitest';
import { clockIn, dateIn, weekdayIn } from '../text/clock.js';
import { isTimeZone, localTimeZone, answerZonedTimeBy, wallClockIn, zonedTimeSource } from './zoned-time.js';

const sources = ['temporal', 'intl'] as const;
const initial = zonedTimeSource();
afterEach(() => answerZonedTimeBy(initial));

function inEach<T>(answer: () => T): Record<(typeof sources)[number], T> {
  const out = {} as Record<(typeof sources)[number], T>;
  for (const source of sources) {
    answerZonedTimeBy(source);
    out[source] = answer();
  }
  return out;
}

describe('zoned time', () => {
  it('is answered by Temporal on the runtime the repo carries', () => {
    expect(initial).toBe('temporal');
  });

  it('gives the same wall clock by Temporal and by Intl in every zone, across daylight saving changes', () => {
    const zones = Intl.supportedValuesOf('timeZone');
    expect(zones.length).toBeGreaterThan(300);
    const instants = [
      Date.UTC(2026, 2, 8, 6, 59, 59), // a second before New York springs forward
      Date.UTC(2026, 2, 8, 7, 0, 0),
      Date.UTC(2026, 9, 25, 0, 59, 59), // Europe falls back at 01:00 UTC
      Date.UTC(2026, 9, 25, 1, 0, 0),
      Date.UTC(2026, 11, 31, 23, 30, 0), // New Year somewhere, not elsewhere
      Date.UTC(2038, 0, 19, 3, 14, 8), // past the 32-bit end, where zone files leave to their rule
      0,
    ];
    const differing: string[] = [];
    for (const tz of zones) {
      for (const at of instants) {
        const both = inEach(() => wallClockIn(tz, at));
        if (JSON.stringify(both.temporal) !== JSON.stringify(both.intl)) differing.push(`${tz} ${new Date(at).toISOString()} ${JSON.stringify(both)}`);
      }
    }
    expect(differing).toEqual([]);
  });

  it('formats the clocks, weekdays and dates the screens show', () => {
    const springForward = Date.UTC(2026, 2, 8, 7, 0, 5);
    const both = inEach(() => [
      clockIn('America/New_York', springForward - 10_000, true),
      clockIn('America/New_York', springForward, true),
      clockIn('Asia/Taipei', springForward),
      weekdayIn('Asia/Taipei', Date.UTC(2026, 11, 6, 16, 0)),
      weekdayIn('America/Los_Angeles', Date.UTC(2026, 11, 6, 16, 0)),
      dateIn('Pacific/Kiritimati', Date.UTC(2026, 8, 30, 11, 0)),
      clockIn('Asia/Kolkata', 0),
    ]);
    const expected = ['01:59:55', '03:00:05', '15:00', 'Mon', 'Sun', '1 Oct 2026', '05:30'];
    expect(both).toEqual({ temporal: expected, intl: expected });
  });

  it('knows names, aliases and offsets, and refuses misspellings, whole dates and control characters', () => {
    const known = [
      'Asia/Taipei',
      'America/New_York',
      'UTC',
      'utc',
      'Europe/Kyiv',
      'asia/taipei',
      'US/Eastern',
      'Asia/Calcutta',
      'Etc/GMT+5',
      'EST5EDT',
      '+05:30',
      '-00:00',
      '+0530',
      '+05',
    ];
    const unknown = [
      'Asia/Taipie',
      'Mars/Olympus',
      '',
      'asia taipei',
      'Z',
      '2026-01-01T00:00Z',
      '2026-01-01T00:00[Asia/Tokyo]',
      'Asia/Taipei\n',
      '\u001b[31mUTC',
      '../../etc/passwd',
      'A'.repeat(10_000),
      '+25:00',
    ];
    const answers = inEach(() => [...known, ...unknown].map((tz) => [tz, isTimeZone(tz)]));
    const expected = [...known.map((tz) => [tz, true]), ...unknown.map((tz) => [tz, false])];
    expect(answers).toEqual({ temporal: expected, intl: expected });
  });

  it('reads the local zone from TZ', () => {
    const before = process.env.TZ;
    try {
      process.env.TZ = 'Pacific/Chatham';
      expect(inEach(() => localTimeZone())).toEqual({ temporal: 'Pacific/Chatham', intl: 'Pacific/Chatham' });
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });
});
