// A nightshift whose terminal was just closed goes on for a moment: it saves its pause into
// its session folder and then exits. A test removes a state folder only once each session's
// lock holder has ended (killed if it has not after a while), so no removal races its writes.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait-for.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The processes that wrote to a session: its lock's holder, and each start or resume in its journal. */
function writersOf(dir: string): number[] {
  const pids = new Set<number>();
  try {
    const holder = (JSON.parse(readFileSync(path.join(dir, 'lock'), 'utf8')) as { pid?: number }).pid;
    if (holder !== undefined) pids.add(holder);
  } catch {
    // No lock: the session was let go (its process may still be closing its files).
  }
  try {
    for (const line of readFileSync(path.join(dir, 'journal.jsonl'), 'utf8').split('\n')) {
      if (!line.includes('"pid"')) continue;
      const pid = (JSON.parse(line) as { pid?: unknown }).pid;
      if (typeof pid === 'number') pids.add(pid);
    }
  } catch {
    // No journal (yet), or a torn last line: the lock said what it could.
  }
  pids.delete(process.pid);
  return [...pids];
}

/** Waits until no process that wrote to a session of `stateDir` runs (at most `timeoutMs` each, then kills it). */
export async function endSessionHolders(stateDir: string, timeoutMs = 30_000): Promise<void> {
  const sessions = path.join(stateDir, 'sessions');
  if (!existsSync(sessions)) return;
  for (const id of readdirSync(sessions)) {
    for (const holder of writersOf(path.join(sessions, id))) await endProcess(holder, id, timeoutMs);
  }
}

async function endProcess(holder: number, id: string, timeoutMs: number): Promise<void> {
  await waitFor(() => !isAlive(holder), { what: `nightshift ${holder} to end its session ${id}`, timeoutMs }).catch(() => {
    if (isAlive(holder)) process.kill(holder, 'SIGKILL');
  });
}
