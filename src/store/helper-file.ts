// The helper channel's file beside a session's journal: written while the channel is open,
// so that `nightshift join` on the same machine finds it and pins its key.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from './lock.js';

export const HELPER_FILE = 'helper.json';

export interface HelperFile {
  address: string;
  port: number;
  fingerprint: string;
  /** "ssh-ed25519 AAAA...", for a known_hosts line. */
  publicKey: string;
  /** The nightshift that holds the channel open. */
  pid: number;
}

export function helperFilePath(sessionDir: string): string {
  return path.join(sessionDir, HELPER_FILE);
}

export function writeHelperFile(sessionDir: string, helper: HelperFile): void {
  writeFileSync(helperFilePath(sessionDir), `${JSON.stringify(helper)}\n`);
}

export function removeHelperFile(sessionDir: string): void {
  rmSync(helperFilePath(sessionDir), { force: true });
}

/** The session's open helper channel: null when there is no file, it does not read, or its nightshift is gone. */
export function readLiveHelperFile(sessionDir: string): HelperFile | null {
  const file = helperFilePath(sessionDir);
  if (!existsSync(file)) return null;
  try {
    const helper = JSON.parse(readFileSync(file, 'utf8')) as HelperFile;
    return isAlive(helper.pid) ? helper : null;
  } catch {
    return null;
  }
}
