// Times in a report are given in both sites' clocks: the upgrader's and the site's.
import { clockIn, weekdayIn } from '../text/clock.js';

export interface Site {
  name: string;
  tz: string;
}

export interface Sites {
  upgrader: Site;
  site: Site;
}

/** "Sun 05:36:45" in the site's zone. */
export function timeAt(site: Site, at: number): string {
  return `${weekdayIn(site.tz, at)} ${clockIn(site.tz, at, true)}`;
}

/** "29 Nov 2026" in the site's zone. */
export function dateAt(site: Site, at: number): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: site.tz, day: 'numeric', month: 'short', year: 'numeric' }).format(at);
}

/** "Sun 05:36:45 Massachusetts office / Sun 18:36:45 Taipei office" */
export function bothClocks(sites: Sites, at: number): string {
  return `${timeAt(sites.upgrader, at)} ${sites.upgrader.name} / ${timeAt(sites.site, at)} ${sites.site.name}`;
}

/** 0ms, 850ms, 1.2s, 4m 05s, 2h 10m */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
