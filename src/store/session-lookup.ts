// Finding a session's folder by its id, or the latest one.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { sessionsDir } from './paths.js';

export class SessionNotFoundError extends Error {
  override readonly name = 'SessionNotFoundError';
}

/** Session ids, oldest first (ids sort by their start time). */
export function listSessionIds(env: NodeJS.ProcessEnv = process.env): string[] {
  const dir = sessionsDir(env);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && existsSync(path.join(dir, entry.name, 'journal.jsonl')))
    .map((entry) => entry.name)
    .sort();
}

/**
 * The folder of session `id` (a unique prefix is enough), or of the latest session that
 * `accept` accepts when no id is given. Errors say which sessions there are.
 */
export function findSessionDir(
  id: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  accept: (dir: string) => boolean = () => true,
  what = 'session',
): string {
  const ids = listSessionIds(env);
  const dir = sessionsDir(env);
  if (id === undefined) {
    const latest = [...ids].reverse().find((candidate) => accept(path.join(dir, candidate)));
    if (latest === undefined) throw new SessionNotFoundError(`There is no ${what} in ${dir}.`);
    return path.join(dir, latest);
  }
  const matches = ids.filter((candidate) => candidate.startsWith(id));
  if (matches.length === 1) return path.join(dir, matches[0]!);
  if (matches.length > 1) throw new SessionNotFoundError(`"${id}" matches several sessions: ${matches.join(', ')}. Give more of the ID.`);
  const recent = ids.slice(-3).reverse();
  throw new SessionNotFoundError(
    `There is no session "${id}" in ${dir}.${recent.length > 0 ? ` The latest: ${recent.join(', ')} (nightshift sessions lists them all).` : ''}`,
  );
}
