// A `for_each` phase's settings and the hosts it runs on: groups as written (a list, an ssh
// config pattern or an inventory file), the upgrader's selection (--hosts, --limit), and the
// batches they make. Read before the schema check, since one phase becomes one per host.
import { dirname, resolve } from 'node:path';
import { NAME_PATTERN } from './schema.js';

/** The upgrader's choice of hosts for every `for_each` phase (`run --hosts`, `--limit`). */
export interface HostSelection {
  /** Globs over host names (`*`, `?`); a `!` first excludes. Several are joined by `,`. */
  patterns?: string[];
  /** At most this many of each group's selected hosts, in the group's order. */
  limit?: number;
}

export interface FleetSettings {
  group: string;
  as: string;
  serial?: { count: number; percent: boolean; written: string };
  maxFail?: { count: number; percent: boolean; written: string };
  canary: number;
  parallel: number;
}

export const FLEET_KEYS = ['for_each', 'serial', 'max_fail', 'canary', 'parallel'] as const;
export const DEFAULT_PARALLEL = 20;

type Report = (at: readonly PropertyKey[], message: string, key?: string) => void;

/** A count or a percentage as written (`3`, `"25%"`), or undefined with a problem reported. */
function countOf(value: unknown, key: string, report: Report, atLeast: number): { count: number; percent: boolean; written: string } | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= atLeast) return { count: value, percent: false, written: String(value) };
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
    if (match && Number(match[1]) >= 0 && Number(match[1]) <= 100) return { count: Number(match[1]), percent: true, written: `${match[1]}%` };
  }
  report([key], `'${key}' is a whole number of hosts (at least ${atLeast}) or a percentage of them, e.g. ${key}: 2 or ${key}: "25%"`);
  return undefined;
}

/** The settings of a phase item that says `for_each:`. `onlyParam`: the template's only param, when it has exactly one not given in `with`. */
export function fleetSettingsOf(item: Record<string, unknown>, onlyParam: string | undefined, report: Report): FleetSettings | undefined {
  const written = item.for_each;
  let group: string | undefined;
  let as: string | undefined;
  if (typeof written === 'string') group = written;
  else if (written !== null && typeof written === 'object' && !Array.isArray(written)) {
    const { group: g, as: a, ...rest } = written as Record<string, unknown>;
    for (const key of Object.keys(rest)) report(['for_each'], `'for_each' takes group and as; '${key}' does not belong there`, key);
    if (typeof g === 'string') group = g;
    if (a !== undefined) {
      if (typeof a === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(a)) as = a;
      else report(['for_each', 'as'], "'as' names the param each host is given as ({{name}} in the steps): letters, digits and _");
    }
  }
  if (group === undefined) {
    report(['for_each'], "'for_each' names a group of hosts (under groups:), e.g. for_each: guests, or for_each: { group: guests, as: guest }");
    return undefined;
  }
  const serial = item.serial === undefined ? undefined : countOf(item.serial, 'serial', report, 1);
  const maxFail = item.max_fail === undefined ? undefined : countOf(item.max_fail, 'max_fail', report, 0);
  let canary = 0;
  if (item.canary !== undefined) {
    if (typeof item.canary === 'number' && Number.isInteger(item.canary) && item.canary >= 0) canary = item.canary;
    else report(['canary'], "'canary' is how many hosts go first, alone, before a checkpoint: a whole number, e.g. canary: 1");
  }
  let parallel = DEFAULT_PARALLEL;
  if (item.parallel !== undefined) {
    if (typeof item.parallel === 'number' && Number.isInteger(item.parallel) && item.parallel >= 1) parallel = item.parallel;
    else report(['parallel'], "'parallel' is how many hosts of a batch work at once: a whole number, at least 1");
  }
  return { group, as: as ?? onlyParam ?? 'host', ...(serial ? { serial } : {}), ...(maxFail ? { maxFail } : {}), canary, parallel };
}

/** How a group was written: a list of names, `{ aliases: PATTERN }` over the ssh config's Host aliases, or `{ file: PATH }`. */
export function groupMembers(
  name: string,
  written: unknown,
  context: { mainFile: string; readFile: (absolute: string) => string | undefined; sshAliases: () => string[] },
  report: Report,
): string[] {
  const at = ['groups', name];
  let members: string[] = [];
  if (Array.isArray(written)) {
    members = written.filter((member, index) => {
      if (typeof member === 'string') return true;
      report([...at, index], `a member of group '${name}' is a host name`);
      return false;
    });
  } else if (written !== null && typeof written === 'object' && 'aliases' in written && typeof written.aliases === 'string') {
    const pattern = globRegExp(written.aliases);
    members = context.sshAliases().filter((alias) => pattern.test(alias));
    if (members.length === 0) report([...at, 'aliases'], `no Host alias in the ssh config matches '${written.aliases}'`);
  } else if (written !== null && typeof written === 'object' && 'file' in written && typeof written.file === 'string') {
    const absolute = resolve(dirname(context.mainFile), written.file);
    const source = context.readFile(absolute);
    if (source === undefined) report([...at, 'file'], `cannot read the inventory file ${written.file} (relative to the runbook's folder)`);
    else
      members = source
        .split('\n')
        .map((line) => line.replace(/#.*/, '').trim())
        .filter((line) => line !== '');
  } else {
    report(at, `group '${name}' is a list of hosts, { aliases: PATTERN } (Host aliases of the ssh config) or { file: PATH } (one host per line)`);
    return [];
  }
  const seen = new Set<string>();
  return members.filter((member) => {
    if (!NAME_PATTERN.test(member)) {
      report(
        at,
        `'${member}' in group '${name}' is not a host name nightshift can use: lower-case letters, digits, '-' and '_'; give it a name under hosts: with alias: ${JSON.stringify(member)}`,
      );
      return false;
    }
    if (seen.has(member)) {
      report(at, `'${member}' is in group '${name}' twice`);
      return false;
    }
    seen.add(member);
    return true;
  });
}

export function globRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** The members the upgrader selected, in the group's order. */
export function selectHosts(members: readonly string[], selection: HostSelection | undefined): string[] {
  const patterns = (selection?.patterns ?? [])
    .flatMap((pattern) => pattern.split(','))
    .map((pattern) => pattern.trim())
    .filter((p) => p !== '');
  const including = patterns.filter((pattern) => !pattern.startsWith('!')).map(globRegExp);
  const excluding = patterns.filter((pattern) => pattern.startsWith('!')).map((pattern) => globRegExp(pattern.slice(1)));
  const chosen = members.filter((member) => (including.length === 0 || including.some((re) => re.test(member))) && !excluding.some((re) => re.test(member)));
  return selection?.limit !== undefined ? chosen.slice(0, selection.limit) : chosen;
}

/** Batches in order: the canary's hosts alone first, then `serial` at a time (all at once without it). */
export function batchesOf(hosts: readonly string[], settings: FleetSettings): string[][] {
  const canary = Math.min(settings.canary, hosts.length);
  const rest = hosts.slice(canary);
  const size = settings.serial
    ? Math.max(1, settings.serial.percent ? Math.ceil((hosts.length * settings.serial.count) / 100) : settings.serial.count)
    : Math.max(1, rest.length);
  const batches = canary > 0 ? [hosts.slice(0, canary)] : [];
  for (let i = 0; i < rest.length; i += size) batches.push(rest.slice(i, i + size));
  return batches;
}

/** Failed hosts tolerated: a count, or a percentage of the selected hosts (rounded down). */
export function maxFailOf(hosts: readonly string[], settings: FleetSettings): number {
  if (!settings.maxFail) return 0;
  return settings.maxFail.percent ? Math.floor((hosts.length * settings.maxFail.count) / 100) : settings.maxFail.count;
}
