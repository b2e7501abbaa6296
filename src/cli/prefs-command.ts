// `nightshift prefs`: shows and changes the upgrader's preferences.
import { isTimeZone } from '../runbook/zoned-time.js';
import { DEFAULT_PREFERENCES, preferencesFile, readPreferences, updatePreferences } from '../store/preferences.js';
import type { Out } from './runbook-commands.js';
import { EXIT } from './exit.js';
import { usageError } from './user-error.js';

const KEYS = {
  theme: { field: 'theme', values: 'color or monochrome' },
  'site-tz': { field: 'siteTimeZone', values: 'an IANA time zone such as Asia/Taipei' },
  bell: { field: 'bell', values: 'on or off' },
} as const;

type Key = keyof typeof KEYS;

export function prefsCommand(args: string[], out: Out): number {
  const [action, key, value, ...rest] = args;
  if (action === undefined) return show(out);
  const usage = (message: string) => usageError(message, { who: 'nightshift prefs', help: 'prefs' });
  if (action !== 'set' && action !== 'unset') throw usage(`"${action}" is not set or unset`);
  if (key === undefined || !(key in KEYS)) throw usage(`the preferences are ${Object.keys(KEYS).join(' and ')}, not "${key ?? ''}"`);
  const { field, values } = KEYS[key as Key];
  if (rest.length > 0 || (action === 'set') !== (value !== undefined)) {
    throw usage(action === 'set' ? `set takes one value: prefs set ${key} VALUE (${values})` : `unset takes no value: prefs unset ${key}`);
  }
  if (action === 'unset') {
    updatePreferences(({ [field]: _dropped, ...kept }) => ({ ...DEFAULT_PREFERENCES, ...kept }));
  } else if (field === 'theme') {
    if (value !== 'color' && value !== 'monochrome') throw usage(`theme is ${values}, not "${value}"`);
    updatePreferences((current) => ({ ...current, theme: value }));
  } else if (field === 'bell') {
    if (value !== 'on' && value !== 'off') throw usage(`bell is ${values}, not "${value}"`);
    updatePreferences((current) => ({ ...current, bell: value === 'on' }));
  } else {
    if (!isTimeZone(value!)) throw usage(`"${value}" is not a known IANA time zone (e.g. Asia/Taipei)`);
    updatePreferences((current) => ({ ...current, siteTimeZone: value! }));
  }
  return show(out);
}

function show(out: Out): number {
  const prefs = readPreferences();
  out.stdout(
    [
      `theme     ${prefs.theme}`,
      `site-tz   ${prefs.siteTimeZone ?? '(the local time zone)'}`,
      `bell      ${prefs.bell ? 'on' : 'off'}`,
      `file      ${preferencesFile()}`,
      '',
    ].join('\n'),
  );
  return EXIT.completed;
}
