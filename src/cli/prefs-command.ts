// `nightshift prefs`: shows and changes the upgrader's preferences.
import { isTimeZone } from '../runbook/load.js';
import { openPreferenceStore, preferencesFile, readPreferences } from '../store/preferences.js';
import type { Out } from './runbook-commands.js';
import { EXIT } from './exit.js';

const KEYS = {
  theme: { field: 'theme', values: 'color or monochrome' },
  'site-tz': { field: 'siteTimeZone', values: 'an IANA time zone such as Asia/Taipei' },
} as const;

type Key = keyof typeof KEYS;

export async function prefsCommand(args: string[], out: Out): Promise<number> {
  const [action, key, value, ...rest] = args;
  if (action === undefined) return show(out);
  const usage = (message: string) => {
    out.stderr(`nightshift prefs: ${message}\nRun nightshift prefs --help for usage.\n`);
    return EXIT.usage;
  };
  if (action !== 'set' && action !== 'unset') return usage(`"${action}" is not set or unset`);
  if (key === undefined || !(key in KEYS)) return usage(`the preferences are ${Object.keys(KEYS).join(' and ')}, not "${key ?? ''}"`);
  const { field, values } = KEYS[key as Key];
  if (rest.length > 0 || (action === 'set') !== (value !== undefined)) {
    return usage(action === 'set' ? `set takes one value: prefs set ${key} VALUE (${values})` : `unset takes no value: prefs unset ${key}`);
  }
  const store = await openPreferenceStore();
  if (action === 'unset') store.delete(field);
  else if (field === 'theme') {
    if (value !== 'color' && value !== 'monochrome') return usage(`theme is ${values}, not "${value}"`);
    store.set('theme', value);
  } else {
    if (!isTimeZone(value!)) return usage(`"${value}" is not a known IANA time zone (e.g. Asia/Taipei)`);
    store.set('siteTimeZone', value!);
  }
  return show(out);
}

function show(out: Out): number {
  const prefs = readPreferences();
  out.stdout(
    [
      `theme     ${prefs.theme}`,
      `site-tz   ${prefs.siteTimeZone ?? '(the local time zone)'}`,
      `recent    ${prefs.recentSessions.length > 0 ? prefs.recentSessions.join(' ') : '(none yet)'}`,
      `file      ${preferencesFile()}`,
      '',
    ].join('\n'),
  );
  return EXIT.completed;
}
