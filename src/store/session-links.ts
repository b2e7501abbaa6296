// Sessions that go again from one another (`run --from`, `again`): a new session names the
// one it goes again from in its run.started entry; the old one is never written to, so
// the link back is found by reading the others.
import path from 'node:path';
import { readJournalChecked, type JournalEntryOf } from './journal.js';
import { readSnapshot } from './snapshot.js';
import { listSessionIds } from './session-lookup.js';
import { sessionsDir } from './paths.js';

export type RunStarted = JournalEntryOf<'run.started'>;

/** A session's run.started entry (null: it has none, or its journal cannot be read). */
export function runStartedOf(dir: string): RunStarted | null {
  try {
    return readJournalChecked(path.join(dir, 'journal.jsonl')).entries.find((entry) => entry.type === 'run.started') ?? null;
  } catch {
    return null;
  }
}

/** The latest session of the same runbook (the same file, or the same name), other than `except`: its id, or null. */
export function latestSessionOf(runbook: { file: string; name: string }, except?: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = sessionsDir(env);
  for (const id of [...listSessionIds(env)].reverse()) {
    if (id === except) continue;
    const started = runStartedOf(path.join(dir, id));
    if (started && (started.runbook.file === runbook.file || started.runbook.name === runbook.name)) return id;
  }
  return null;
}

/** The sessions that go again from session `id`, oldest first. */
export function sessionsGoingAgainFrom(id: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const dir = sessionsDir(env);
  return listSessionIds(env).filter((other) => other !== id && runStartedOf(path.join(dir, other))?.again?.session === id);
}

/** The values a session captured (and carried), from its saved state: none when it saved none. */
export function capturedValuesOf(dir: string): Record<string, string> {
  try {
    const machine = readSnapshot(dir)?.machine as { context?: { values?: Record<string, string> } } | undefined;
    const values = machine?.context?.values ?? {};
    return Object.fromEntries(Object.entries(values).filter(([, value]) => typeof value === 'string'));
  } catch {
    return {};
  }
}

/** Each step's status in a session's saved state (none when it saved none). */
export function stepStatusesOf(dir: string): Record<string, string> {
  try {
    const machine = readSnapshot(dir)?.machine as { context?: { steps?: Record<string, { status?: string }> } } | undefined;
    return Object.fromEntries(Object.entries(machine?.context?.steps ?? {}).map(([id, record]) => [id, String(record.status)]));
  } catch {
    return {};
  }
}
