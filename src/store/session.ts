// A session's folder: the journal, a copy of the runbook as it was run, how it was started
// (session.json), the machine's snapshot, step outputs, and the lock.
import type { HostSelection } from '../runbook/fleet-settings.js';
import { copyFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HelperSettings } from './helper-settings.js';
import type { Runbook } from '../runbook/types.js';
import { Journal, readJournalChecked, type JournalReading } from './journal.js';
import { acquireLock, type SessionLock } from './lock.js';
import { readSnapshot, SnapshotWriter } from './snapshot.js';
import { newSessionId, sessionsDir } from './paths.js';

/** How the session was started, so that resume can start it the same way. */
export interface SessionMeta {
  runbookFile: string;
  vars: Record<string, string>;
  /** The site's time zone the runbook was loaded with when it names no sites. */
  siteTimeZone?: string;
  connect: { sshConfigFile?: string; knownHostsFiles?: string[]; keepaliveIntervalMs?: number };
  /** Set for `nightshift demo` sessions: resume starts the lab again on the machines in the same folder. */
  demo?: { scenario: string; labDir: string; temporary: boolean };
  /** The helper channel's settings from the command line (absent: the defaults). */
  helpers?: HelperSettings;
  /** --hosts and --limit: the hosts of each for_each phase (a resume loads the runbook with them again). */
  select?: HostSelection;
}

export interface Session {
  id: string;
  dir: string;
  journal: Journal;
  meta: SessionMeta;
  lock: SessionLock;
  /** Writes snapshot.json; a failure is journaled and told, never thrown. */
  snapshots: SnapshotWriter;
  outputPath(stepId: string, attempt: number): string;
}

export const META_FILE = 'session.json';
export const RUNBOOK_COPY = 'runbook.yaml';

export function createSession(runbook: Runbook, meta: SessionMeta, env: NodeJS.ProcessEnv = process.env): Session {
  const id = newSessionId();
  const dir = path.join(sessionsDir(env), id);
  mkdirSync(path.join(dir, 'output'), { recursive: true, mode: 0o700 });
  const lock = acquireLock(dir);
  copyFileSync(runbook.file, path.join(dir, RUNBOOK_COPY));
  writeFileSync(path.join(dir, META_FILE), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
  return sessionIn(dir, meta, lock, new Journal(path.join(dir, 'journal.jsonl')));
}

export interface ReopenedSession {
  session: Session;
  reading: JournalReading;
}

/**
 * Opens an existing session to go on with it: takes its lock, reads its journal (a torn
 * last line is cut off so that new entries follow whole ones), writes the entries the
 * snapshot holds that the journal lacks (a crash came between the two), and appends after it.
 */
export function reopenSession(dir: string): ReopenedSession {
  const lock = acquireLock(dir);
  try {
    const journalFile = path.join(dir, 'journal.jsonl');
    const reading = readJournalChecked(journalFile);
    if (reading.torn) {
      const text = readFileSync(journalFile, 'utf8');
      truncateSync(journalFile, Buffer.byteLength(text.slice(0, text.lastIndexOf(reading.torn.text))));
    }
    const meta = readMeta(dir);
    const journal = new Journal(journalFile, reading.entries.at(-1)?.seq ?? 0);
    // The entries of the last saved change that a crash kept from the journal.
    const missing = (readSnapshot(dir)?.journalEntries ?? []).filter((entry) => entry.seq > journal.lastSeq);
    journal.appendNumbered(missing);
    reading.entries.push(...missing);
    return { session: sessionIn(dir, meta, lock, journal), reading };
  } catch (error) {
    lock.release();
    throw error;
  }
}

export function readMeta(dir: string): SessionMeta {
  const file = path.join(dir, META_FILE);
  if (!existsSync(file)) throw new Error(`${dir} has no ${META_FILE}: it was not written by this version of nightshift.`);
  return JSON.parse(readFileSync(file, 'utf8')) as SessionMeta;
}

function sessionIn(dir: string, meta: SessionMeta, lock: SessionLock, journal: Journal): Session {
  return {
    id: path.basename(dir),
    dir,
    journal,
    meta,
    lock,
    snapshots: new SnapshotWriter(dir, journal),
    outputPath: (stepId, attempt) => path.join(dir, 'output', `${stepId}.${attempt}.log`),
  };
}
