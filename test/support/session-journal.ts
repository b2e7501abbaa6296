// The journal of the one session a test's state folder holds, as entries; and a guard's
// entries in it, in words ("guard.fired dolphin by deadline"), sorted, for comparing.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export function onlySessionJournal(stateDir: string): Array<Record<string, unknown>> {
  const sessions = path.join(stateDir, 'sessions');
  const [id] = readdirSync(sessions);
  return readFileSync(path.join(sessions, id!, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export function guardEntries(stateDir: string): string[] {
  return onlySessionJournal(stateDir)
    .filter((entry) => String(entry['type']).startsWith('guard.'))
    .map((entry) => `${String(entry['type'])} ${String(entry['host'])}${entry['by'] !== undefined ? ` by ${String(entry['by'])}` : ''}`)
    .sort();
}
