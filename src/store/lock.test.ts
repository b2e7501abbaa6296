import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock, LOCK_FILE, SessionLockedError } from './lock.js';
import { scratchFolders } from '../../test/support/scratch-folder.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

describe('the session lock', () => {
  it('refuses while a live process holds it, naming its pid and host; released, it can be taken', () => {
    const dir = scratch('ns-lock-');
    const first = acquireLock(dir);
    expect(() => acquireLock(dir)).toThrow(SessionLockedError);
    expect(() => acquireLock(dir)).toThrow(new RegExp(`pid ${process.pid} on ${os.hostname()}`));
    first.release();
    const second = acquireLock(dir);
    expect(second.tookOverFrom).toBeUndefined();
    second.release();
  });

  it('takes over a lock left by a process that is gone, and says whose it was', () => {
    const dir = scratch('ns-lock-');
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: Number(gone), host: os.hostname(), since: 'earlier' }));
    const lock = acquireLock(dir);
    expect(lock.tookOverFrom).toEqual({ pid: Number(gone), host: os.hostname(), since: 'earlier' });
    expect(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('a lock held on another machine counts as held', () => {
    const dir = scratch('ns-lock-');
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere.example', since: 'earlier' }));
    expect(() => acquireLock(dir)).toThrow(/pid 1 on elsewhere\.example/);
  });
});
