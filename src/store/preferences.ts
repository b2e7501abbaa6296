// The upgrader's preferences: colours and the site's usual time zone, in one small JSON file.
// Replaced whole (replace-file.ts), so that a crash or two `prefs set` at once leave either
// the old file or the new, never half of one.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configDir } from './paths.js';
import { replaceFile } from './replace-file.js';

export interface Preferences {
  /** monochrome: no colours in the full-screen view and plain output (marks differ in shape too). */
  theme: 'color' | 'monochrome';
  /** The site's time zone for runbooks that name no sites. */
  siteTimeZone?: string;
  /** A terminal bell when something starts waiting for the upgrader, or a helper writes (default on). */
  bell: boolean;
}

export const DEFAULT_PREFERENCES: Preferences = { theme: 'color', bell: true };

export function preferencesFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), 'preferences.json');
}

/** The preferences as stored, defaults where missing; a file that does not parse counts as none. */
export function readPreferences(env: NodeJS.ProcessEnv = process.env): Preferences {
  let stored: Partial<Preferences> = {};
  try {
    stored = JSON.parse(readFileSync(preferencesFile(env), 'utf8')) as Partial<Preferences>;
  } catch {
    // missing or damaged: the defaults
  }
  return {
    theme: stored.theme === 'monochrome' ? 'monochrome' : 'color',
    bell: stored.bell !== false,
    ...(typeof stored.siteTimeZone === 'string' ? { siteTimeZone: stored.siteTimeZone } : {}),
  };
}

/** Stores the preferences as changed by `change`; the folder is made, readable by its owner only. */
export function updatePreferences(change: (current: Preferences) => Preferences, env: NodeJS.ProcessEnv = process.env): Preferences {
  const file = preferencesFile(env);
  const next = change(readPreferences(env));
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  replaceFile(file, `${JSON.stringify(next, null, 2)}\n`);
  return next;
}
