import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import path from 'node:path';

/** $NIGHTSHIFT_STATE_DIR, else $XDG_STATE_HOME/nightshift, else ~/.local/state/nightshift. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['NIGHTSHIFT_STATE_DIR']) return path.resolve(env['NIGHTSHIFT_STATE_DIR']);
  const xdg = env['XDG_STATE_HOME'];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env['HOME'] ?? homedir(), '.local', 'state');
  return path.join(base, 'nightshift');
}

/** $NIGHTSHIFT_CONFIG_DIR, else $XDG_CONFIG_HOME/nightshift, else ~/.config/nightshift. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['NIGHTSHIFT_CONFIG_DIR']) return path.resolve(env['NIGHTSHIFT_CONFIG_DIR']);
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env['HOME'] ?? homedir(), '.config');
  return path.join(base, 'nightshift');
}

export function sessionsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(env), 'sessions');
}

/** Sortable by start time, short enough to type: 20261122-031502-7f3a. */
export function newSessionId(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp =
    `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-` + `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}
