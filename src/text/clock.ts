const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string, withSeconds: boolean): Intl.DateTimeFormat {
  const key = `${tz}|${withSeconds}`;
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      hour: '2-digit',
      minute: '2-digit',
      ...(withSeconds ? { second: '2-digit' } : {}),
      hourCycle: 'h23',
    });
    formatters.set(key, format);
  }
  return format;
}

/** 03:15 or 03:15:02 in the given zone. */
export function clockIn(tz: string, at: number | Date = Date.now(), withSeconds = false): string {
  return formatter(tz, withSeconds).format(at);
}

/** "03:15:02 Boston / 16:15:02 Taipei": a moment to the second in both sites' clocks (deadlines). */
export function bothSitesToTheSecond(sites: { upgrader: { name: string; tz: string }; site: { name: string; tz: string } }, at: number): string {
  return `${clockIn(sites.upgrader.tz, at, true)} ${sites.upgrader.name} / ${clockIn(sites.site.tz, at, true)} ${sites.site.name}`;
}

/** Short weekday in the given zone, to show that the site may be on another day. */
export function weekdayIn(tz: string, at: number | Date = Date.now()): string {
  let format = weekdays.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'short' });
    weekdays.set(tz, format);
  }
  return format.format(at);
}

const weekdays = new Map<string, Intl.DateTimeFormat>();
