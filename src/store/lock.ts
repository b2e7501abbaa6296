// One nightshift per session: a lock file created exclusively, naming its holder. A lock
// left by a process that is gone (kill -9, a crash) on this machine is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

export class SessionLockedError extends Error {
  override readonly name = 'SessionLockedError';
  constructor(
    readonly holder: LockHolder,
    dir: string,
  ) {
    super(
      `The session ${path.basename(dir)} is open in another nightshift (pid ${holder.pid} on ${holder.host}, since ${holder.since}). ` +
        `Use that one, or stop it first; if that process is gone for good, remove ${path.join(dir, LOCK_FILE)}.`,
    );
  }
}

export const LOCK_FILE = 'lock';

export interface SessionLock {
  /** Set when a lock left by a dead process was taken over. */
  tookOverFrom?: LockHolder;
  release(): void;
}

export function acquireLock(dir: string): SessionLock {
  const file = path.join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  let tookOverFrom: LockHolder | undefined;
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      const release = () => {
        const holder = readHolder(file);
        if (holder?.pid === me.pid && holder.host === me.host) rmSync(file, { force: true });
      };
      return tookOverFrom ? { tookOverFrom, release } : { release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(file);
    if (holder && holderIsAlive(holder)) throw new SessionLockedError(holder, dir);
    // Left by a process that no longer runs here (or unreadable: half written at a crash).
    tookOverFrom = holder ?? undefined;
    rmSync(file, { force: true });
  }
  throw new Error(`Could not take the lock ${file}: another process keeps creating it.`);
}

export function readHolder(file: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return null;
    return { pid: parsed.pid, host: parsed.host, since: String(parsed.since ?? '?') };
  } catch {
    return null;
  }
}

/** Whether the holder still runs: on another machine we cannot tell, so it counts as running. */
export function holderIsAlive(holder: LockHolder): boolean {
  return holder.host !== os.hostname() || isAlive(holder.pid);
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
