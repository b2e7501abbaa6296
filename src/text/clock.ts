import { wallClockIn } from '../runbook/zoned-time.js';

const twoDigits = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** 03:15 or 03:15:02 in the given zone. */
export function clockIn(tz: string, at: number | Date = Date.now(), withSeconds = false): string {
  const time = wallClockIn(tz, Number(at));
  const minutes = `${twoDigits(time.hour)}:${twoDigits(time.minute)}`;
  return withSeconds ? `${minutes}:${twoDigits(time.second)}` : minutes;
}

/** "03:15:02 Boston / 16:15:02 Taipei": a moment to the second in both sites' clocks (deadlines). */
export function bothSitesToTheSecond(sites: { upgrader: { name: string; tz: string }; site: { name: string; tz: string } }, at: number): string {
  return `${clockIn(sites.upgrader.tz, at, true)} ${sites.upgrader.name} / ${clockIn(sites.site.tz, at, true)} ${sites.site.name}`;
}

const weekdayNames = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const monthNames = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Short weekday in the given zone, to show that the site may be on another day. */
export function weekdayIn(tz: string, at: number | Date = Date.now()): string {
  return weekdayNames[wallClockIn(tz, Number(at)).weekday - 1] ?? '?';
}

/** "29 Nov 2026" in the given zone. */
export function dateIn(tz: string, at: number | Date = Date.now()): string {
  const time = wallClockIn(tz, Number(at));
  return `${time.day} ${monthNames[time.month - 1] ?? '?'} ${time.year}`;
}
