/**
 * A moment's wall clock in an IANA time zone. Temporal (Node 26) answers from ICU's zone rules
 * alone; Intl.DateTimeFormat also loads a locale's patterns to format the fields: 20 ms and
 * 5 MiB of Node's binary at the first clock. Node 22 and 24 have no Temporal and use the latter.
 */

export interface WallClock {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 1 (Monday) to 7 (Sunday), as ISO 8601 counts */
  weekday: number;
}

interface ZonedDateTimeLike extends Omit<WallClock, 'weekday'> {
  dayOfWeek: number;
  timeZoneId: string;
}

interface TemporalLike {
  Instant: { fromEpochMilliseconds(ms: number): { toZonedDateTimeISO(tz: string): ZonedDateTimeLike } };
  Now: { timeZoneId(): string };
}

type Source = 'temporal' | 'intl';

const temporalOf = (): TemporalLike | undefined => (globalThis as { Temporal?: TemporalLike }).Temporal;

let source: Source = temporalOf() ? 'temporal' : 'intl';

/** Which of the two answers; tests compare them. */
export function answerZonedTimeBy(which: Source): void {
  if (which === 'temporal' && !temporalOf()) throw new Error('this Node has no Temporal');
  source = which;
}

export function zonedTimeSource(): Source {
  return source;
}

function zoned(tz: string, at: number): ZonedDateTimeLike {
  return (temporalOf() as TemporalLike).Instant.fromEpochMilliseconds(at).toZonedDateTimeISO(tz);
}

const partFormats = new Map<string, Intl.DateTimeFormat>();
const weekdayNumbers: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function wallClockByIntl(tz: string, at: number): WallClock {
  let format = partFormats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
      hourCycle: 'h23',
    });
    partFormats.set(tz, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(at)) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: weekdayNumbers[parts.weekday ?? ''] ?? 0,
  };
}

/** The wall clock of `tz` at `at` (ms since the epoch); throws a RangeError for an unknown zone. */
export function wallClockIn(tz: string, at: number): WallClock {
  if (source === 'intl') return wallClockByIntl(tz, at);
  const time = zoned(tz, at);
  return { year: time.year, month: time.month, day: time.day, hour: time.hour, minute: time.minute, second: time.second, weekday: time.dayOfWeek };
}

let canonicalZones: Set<string> | undefined;

const utcOffset = /^[+-]\d{2}(:?\d{2})?$/;

/**
 * Whether `tz` names an IANA zone or one of its aliases (US/Eastern), in any case, or is an
 * offset (+05:30). Temporal would also read a zone out of a whole date ('2026-01-01T00:00Z' is
 * UTC): a name counts only when it comes back as itself.
 */
export function isTimeZone(tz: string): boolean {
  if (source === 'temporal') {
    try {
      const id = zoned(tz, 0).timeZoneId;
      return id.toLowerCase() === tz.toLowerCase() || utcOffset.test(tz);
    } catch {
      return false;
    }
  }
  canonicalZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (canonicalZones.has(tz)) return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The zone this machine's clock is in (TZ, else the system's). */
export function localTimeZone(): string {
  return source === 'temporal' ? (temporalOf() as TemporalLike).Now.timeZoneId() : Intl.DateTimeFormat().resolvedOptions().timeZone;
}
