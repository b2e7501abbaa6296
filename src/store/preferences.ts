// The upgrader's preferences: colours, the site's usual time zone, the sessions they used
// last. conf writes them (atomically, validated against a schema); start-up only reads the
// file it writes, since loading conf costs more than the rest of start-up together.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Conf from 'conf';
import { configDir } from './paths.js';

export interface Preferences {
  /** monochrome: no colours in the full-screen view and plain output (marks differ in shape too). */
  theme: 'color' | 'monochrome';
  /** The site's time zone for runbooks that name no sites. */
  siteTimeZone?: string;
  /** Session ids, the latest first. */
  recentSessions: string[];
}

export const DEFAULT_PREFERENCES: Preferences = { theme: 'color', recentSessions: [] };
const CONFIG_NAME = 'preferences';
const RECENT_KEPT = 10;

export function preferencesFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), `${CONFIG_NAME}.json`);
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
    ...(typeof stored.siteTimeZone === 'string' ? { siteTimeZone: stored.siteTimeZone } : {}),
    recentSessions: Array.isArray(stored.recentSessions) ? stored.recentSessions.filter((id) => typeof id === 'string') : [],
  };
}

export async function openPreferenceStore(env: NodeJS.ProcessEnv = process.env): Promise<Conf<Preferences>> {
  const { default: ConfStore } = await import('conf');
  return new ConfStore<Preferences>({
    cwd: configDir(env),
    configName: CONFIG_NAME,
    defaults: DEFAULT_PREFERENCES,
    schema: {
      theme: { type: 'string', enum: ['color', 'monochrome'] },
      siteTimeZone: { type: 'string' },
      recentSessions: { type: 'array', items: { type: 'string' } },
    },
  });
}

/** Puts the session first among the recent ones (after a run, off the start-up path). */
export async function rememberSession(id: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const store = await openPreferenceStore(env);
  store.set('recentSessions', [id, ...store.get('recentSessions').filter((recent) => recent !== id)].slice(0, RECENT_KEPT));
}
