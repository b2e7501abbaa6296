// Finding a session's folder by its id, or the latest one.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { sessionsDir } from './paths.js';

export class SessionNotFoundError extends Error {
  override readonly name = 'SessionNotFoundError';
}

/**
 * Session ids, oldest first. An id starts with its start time to the second; two sessions of
 * one second (going again right after a fallback) are told apart by when their journals were
 * created, not by their random suffix.
 */
export function listSessionIds(env: NodeJS.ProcessEnv = process.env): string[] {
  const dir = sessionsDir(env);
  if (!existsSync(dir)) return [];
  const ids = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && existsSync(path.join(dir, entry.name, 'journal.jsonl')))
    .map((entry) => entry.name)
    .sort();
  const createdMs = (id: string) => {
    const stat = statSync(path.join(dir, id, 'journal.jsonl'), { throwIfNoEntry: false });
    return stat === undefined ? 0 : stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.ctimeMs;
  };
  const stampOf = (id: string) => id.slice(0, id.lastIndexOf('-'));
  for (let start = 0; start < ids.length; ) {
    let end = start + 1;
    while (end < ids.length && stampOf(ids[end]!) === stampOf(ids[start]!)) end += 1;
    if (end - start > 1) {
      const same = ids.slice(start, end).map((id) => ({ id, created: createdMs(id) }));
      same.sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
      ids.splice(start, end - start, ...same.map((entry) => entry.id));
    }
    start = end;
  }
  return ids;
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
