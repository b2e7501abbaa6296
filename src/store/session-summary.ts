// One line's worth about a session, read from its folder: for `nightshift sessions` and
// for choosing what `resume` picks by default.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readJournalChecked, type JournalEntry } from './journal.js';
import { holderIsAlive, LOCK_FILE, readHolder, type LockHolder } from './lock.js';

export type SessionState = 'running' | 'paused' | 'interrupted' | 'completed' | 'fell-back';

export interface SessionSummary {
  id: string;
  dir: string;
  runbook: string;
  state: SessionState;
  /** The step in focus when it stopped (or now, when running). */
  stepId: string | null;
  stepLabel: string | null;
  /** When it stopped (paused or interrupted), or when it ended. */
  since: Date | null;
  sites: { upgrader: { name: string; tz: string }; site: { name: string; tz: string } } | null;
  holder: LockHolder | null;
  tornJournal: boolean;
  /** The session this one goes again from (`run --from`, `again`), when it does. */
  goesAgainFrom?: string | null;
  /** A guard left armed (runbook `guard:`): its hosts undo its block by themselves at `deadline` (the earliest), whatever nightshift does. */
  armedGuard?: { id: string; deadline: Date };
}

const ENDED: Record<string, SessionState> = { completed: 'completed', 'fell-back': 'fell-back', paused: 'paused', interrupted: 'interrupted' };

export function summarizeSession(dir: string): SessionSummary {
  // Lines this nightshift cannot read (a newer one wrote them) are left out: a summary goes on without them.
  const { entries, torn } = readJournalChecked(path.join(dir, 'journal.jsonl'));
  const started = entries.find((entry) => entry.type === 'run.started');
  const steps = new Map((started?.steps ?? []).map((step) => [step.id, `${step.number} ${step.title}`]));
  const last = entries.at(-1);
  const lockFile = path.join(dir, LOCK_FILE);
  const holder = existsSync(lockFile) ? readHolder(lockFile) : null;

  let stepId: string | null = null;
  for (const entry of entries) {
    if (entry.type === 'step.started' || entry.type === 'step.waiting' || entry.type === 'step.held') stepId = entry.stepId;
    if (entry.type === 'step.finished' && entry.status === 'done' && entry.stepId === stepId) stepId = null;
    if ((entry.type === 'session.paused' || entry.type === 'session.resumed') && entry.stepId !== null) stepId = entry.stepId;
  }
  const closed = [...entries].reverse().find((entry) => entry.type === 'session.closed' || entry.type === 'session.resumed' || entry.type === 'run.started');
  let state: SessionState;
  if (closed?.type === 'session.closed') state = ENDED[closed.outcome] ?? 'interrupted';
  else state = holder && holderIsAlive(holder) ? 'running' : 'interrupted';
  if (state === 'completed' || state === 'fell-back') stepId = null;

  return {
    id: path.basename(dir),
    dir,
    runbook: started?.runbook.name ?? '?',
    state,
    stepId,
    stepLabel: stepId ? (steps.get(stepId) ?? stepId) : null,
    since: sinceOf(state, closed, last),
    sites: started?.sites ?? null,
    holder,
    tornJournal: torn !== undefined,
    ...(started?.again ? { goesAgainFrom: started.again.session } : {}),
    ...armedGuardOf(entries),
  };
}

/** The guard whose hosts are still armed, by the journal's guard entries, with the earliest of their deadlines. */
function armedGuardOf(entries: readonly JournalEntry[]): Pick<SessionSummary, 'armedGuard'> {
  const hosts = new Map<string, { guard: string; deadline: number; armed: boolean }>();
  for (const entry of entries) {
    if (entry.type === 'guard.armed' || entry.type === 'guard.extended') {
      hosts.set(`${entry.guard}/${entry.host}`, { guard: entry.guard, deadline: entry.deadline, armed: true });
    } else if (entry.type === 'guard.committed' || entry.type === 'guard.fired') {
      const known = hosts.get(`${entry.guard}/${entry.host}`);
      if (known) known.armed = false;
    }
  }
  const armed = [...hosts.values()].filter((host) => host.armed).sort((a, b) => a.deadline - b.deadline)[0];
  return armed ? { armedGuard: { id: armed.guard, deadline: new Date(armed.deadline) } } : {};
}

export function isResumable(summary: SessionSummary): boolean {
  return summary.state === 'paused' || summary.state === 'interrupted';
}

function sinceOf(state: SessionState, closed: JournalEntry | undefined, last: JournalEntry | undefined): Date | null {
  const entry = state === 'running' ? undefined : closed?.type === 'session.closed' ? closed : last;
  return entry ? new Date(entry.at) : null;
}
