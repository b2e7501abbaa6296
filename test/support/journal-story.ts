// What a session's journal says happened, stripped of what differs between two runs of the
// same runbook (times, sequence numbers, pids, session ids) and of what only a crash and a
// resume add (pauses, resumes, torn lines, connection changes, the interrupted attempt and
// the decision to run it again): two runs that did the same things tell the same story.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readJournal, type JournalEntry } from '../../src/store/journal.js';

export interface JournalStory {
  /** The meaningful events in order, one line each: "step.finished slow done exit=0". */
  events: string[];
  /** Each step's output (the file of its last attempt), its lines sorted: stdout and stderr are followed apart, so their interleaving may differ. */
  outputs: Record<string, string>;
  /** Every attempt number each step started with, crash artefacts included. */
  attempts: Record<string, number[]>;
}

/** Entries only a crash or a resume writes, or that differ from run to run by nature. */
const NOT_EVENTS = new Set([
  'run.started',
  'session.resumed',
  'session.paused',
  'session.closed',
  'journal.torn',
  'runbook.changed',
  'host.state',
  'output.closed',
  // A check runs only when a resume finds its step interrupted.
  'step.checked',
]);

/** What changes from run to run in what a command prints: generated ids and the clock. */
const VOLATILE: Array<[RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b\d{1,2}:\d{2}(:\d{2})?\b/g, '<time>'],
  [/\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/g, '<date>'],
];

export function journalStory(sessionDir: string): JournalStory {
  const entries = readJournal(path.join(sessionDir, 'journal.jsonl'));
  const attempts: Record<string, number[]> = {};
  const events: Array<{ stepId: string | null; text: string; type: string }> = [];
  /** Steps whose interruption is being decided: the prompt and a retry are crash artefacts. */
  const interrupted = new Set<string>();
  const stepOf = (entry: JournalEntry) => (typeof entry['stepId'] === 'string' ? entry['stepId'] : null);
  /** The last kept step.started of the step, when no step.finished followed it. */
  const openStart = (stepId: string) => {
    for (let index = events.length - 1; index >= 0; index--) {
      const event = events[index]!;
      if (event.stepId !== stepId) continue;
      return event.type === 'step.started' ? index : -1;
    }
    return -1;
  };

  for (const entry of entries) {
    if (NOT_EVENTS.has(entry.type) || entry.type.startsWith('helper.')) continue;
    const stepId = stepOf(entry);
    if (entry.type === 'step.started') {
      (attempts[entry.stepId] ??= []).push(entry.attempt);
      // A start journaled again (the crash came before the saved state caught up, or the
      // interrupted attempt is run again) replaces the start that never finished.
      const open = openStart(entry.stepId);
      if (open !== -1) events.splice(open, 1);
    }
    if (entry.type === 'step.finished' && stepId && /^nightshift stopped while attempt \d+ ran/.test(entry.error ?? '')) {
      const open = openStart(stepId);
      if (open !== -1) events.splice(open, 1);
      interrupted.add(stepId);
      continue;
    }
    if (stepId && interrupted.has(stepId)) {
      if (entry.type === 'step.waiting' && entry.for === 'decision') continue;
      if (entry.type === 'decision' && entry.action === 'retry') {
        interrupted.delete(stepId);
        continue;
      }
      interrupted.delete(stepId);
    }
    events.push({ stepId, type: entry.type, text: describe(entry) });
  }

  // From the files rather than the journal's output.closed: an attempt cut short by a kill has none.
  const outputs: Record<string, string> = {};
  const latest: Record<string, number> = {};
  for (const name of readdirSync(path.join(sessionDir, 'output'))) {
    const match = /^(.+)\.(\d+)\.log$/.exec(name);
    if (!match) continue;
    const [, stepId, attempt] = match as unknown as [string, string, string];
    if ((latest[stepId] ?? 0) > Number(attempt)) continue;
    latest[stepId] = Number(attempt);
    outputs[stepId] = maskVolatile(readFileSync(path.join(sessionDir, 'output', name), 'utf8'))
      .split('\n')
      .sort()
      .join('\n');
  }
  return { events: events.map((event) => event.text), outputs, attempts };
}

export function maskVolatile(text: string): string {
  return VOLATILE.reduce((masked, [pattern, replacement]) => masked.replace(pattern, replacement), text);
}

function describe(entry: JournalEntry): string {
  const parts: string[] = [entry.type];
  if (typeof entry['stepId'] === 'string') parts.push(entry['stepId']);
  switch (entry.type) {
    case 'step.finished':
      parts.push(entry.status);
      if (entry.exitCode !== undefined) parts.push(`exit=${String(entry.exitCode)}`);
      if (entry.error !== undefined) parts.push(`error=${entry.error}`);
      break;
    case 'step.waiting':
      parts.push(`for=${entry.for}`, `roles=${String(entry.roles)}`);
      break;
    case 'step.confirmed':
      parts.push(`role=${entry.role}`, `by=${entry.by.role}`, ...(entry.relayed ? ['relayed'] : []));
      break;
    case 'step.approved':
      parts.push(`by=${entry.by.role}`);
      break;
    case 'step.skipped':
    case 'step.refused':
      parts.push(`by=${entry.by.role}`, `reason=${entry.reason}`);
      break;
    case 'decision':
      parts.push(entry.action);
      if (entry.reason !== undefined) parts.push(`reason=${entry.reason}`);
      break;
    case 'fallback.started':
      parts.push(`reason=${entry.reason}`);
      break;
    case 'run.finished':
      parts.push(entry.outcome);
      break;
  }
  return parts.join(' ');
}
