// Times in a report are given in both sites' clocks: the upgrader's and the site's.
import { clockIn, dateIn, weekdayIn } from '../text/clock.js';

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
  return dateIn(site.tz, at);
}

/** "Sun 05:36:45 Massachusetts office / Sun 18:36:45 Taipei office" */
export function bothClocks(sites: Sites, at: number): string {
  return `${timeAt(sites.upgrader, at)} ${sites.upgrader.name} / ${timeAt(sites.site, at)} ${sites.site.name}`;
}
