// What happened in a session, read from its journal: the model every report format is
// rendered from. Pure: the journal's entries in, a SessionRecord out.
import type { JournalEntry, JournalReading } from '../store/journal.js';
import { visibleText } from '../output/neutralize.js';
import type { Site, Sites } from './clocks.js';
import { outcomeText } from './report-text.js';

export interface Actor {
  role: string;
  name: string;
}

export interface PhaseInfo {
  name: string;
  title: string;
}

export interface StepInfo {
  id: string;
  number: string;
  /** null for fallback steps */
  phase: string | null;
  title: string;
  kind: string;
  place: string;
  command?: string;
  text?: string;
}

export type AttemptStatus = 'running' | 'done' | 'failed' | 'skipped' | 'interrupted';

export interface OutputRef {
  /** Relative to the session folder. */
  file: string;
  bytes: number;
  lines: number;
}

/** One execution of a step, from step.started to its end. */
export interface Attempt {
  stepId: string;
  attempt: number;
  fallback: boolean;
  startedAt: number;
  /** When it finished or was skipped; for an attempt the journal never saw end, the end of its run. */
  endedAt: number;
  status: AttemptStatus;
  exitCode?: number | null;
  error?: string;
  durationMs: number;
  output?: OutputRef;
  /** What became of a revert armed around it (revert_after), in order. */
  reverts?: RevertNote[];
}

export interface RevertNote {
  at: number;
  text: string;
}

export interface Confirmation {
  stepId: string;
  kind: 'confirmed' | 'approved' | 'refused';
  /** The role that confirmed (for approvals and refusals: the role of who acted). */
  role: string;
  by: Actor;
  relayed: boolean;
  reason?: string;
  at: number;
}

export interface Decision {
  stepId: string | null;
  action: string;
  by: Actor;
  reason?: string;
  at: number;
}

export interface Skip {
  stepId: string;
  by: Actor;
  reason: string;
  at: number;
}

export interface ChatMessage {
  from: Actor;
  text: string;
  at: number;
}

/** Something about the session or a connection rather than a step: started, resumed, paused, a host dropped. */
export interface SessionEvent {
  at: number;
  type: string;
  text: string;
}

export interface SessionRecord {
  session: string;
  runbook: { name: string; file: string; hash: string };
  sites: Sites;
  by: Actor | null;
  phases: PhaseInfo[];
  steps: StepInfo[];
  startedAt: number;
  endedAt: number;
  /** completed, fell-back, paused, interrupted, or unfinished when the journal just stops. */
  outcome: string;
  attempts: Attempt[];
  confirmations: Confirmation[];
  decisions: Decision[];
  skips: Skip[];
  chat: ChatMessage[];
  events: SessionEvent[];
  /** Problems with the journal itself, such as a torn last line. */
  warnings: string[];
}

const UTC: Site = { name: 'UTC', tz: 'UTC' };

/**
 * Text from the journal as it may be shown: every control character visible (an escape
 * sequence as ^[[...), nothing removed, lines kept. A command that hides a part of itself
 * behind a carriage return reads as what it is.
 */
export function cleanText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return visibleText(String(value));
}

function cleanLine(value: unknown): string {
  return cleanText(value).replace(/\n/g, ' ');
}

function actorOf(value: unknown): Actor {
  const actor = (value ?? {}) as Partial<Actor>;
  return { role: cleanLine(actor.role ?? 'unknown'), name: cleanLine(actor.name ?? 'unknown') };
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function siteOf(value: unknown): Site {
  const site = (value ?? {}) as Partial<Site>;
  const tz = typeof site.tz === 'string' && validZone(site.tz) ? site.tz : 'UTC';
  return { name: typeof site.name === 'string' ? cleanLine(site.name) : tz, tz };
}

function timeOf(entry: JournalEntry): number {
  const at = Date.parse(entry.at);
  return Number.isNaN(at) ? 0 : at;
}

function str(entry: JournalEntry, field: string): string {
  return cleanLine(entry[field]);
}

function optionalReason(entry: JournalEntry): { reason?: string } {
  const reason = entry['reason'];
  return typeof reason === 'string' && reason.trim() !== '' ? { reason: cleanLine(reason) } : {};
}

function stepOf(value: unknown): StepInfo | null {
  const step = value as Partial<StepInfo> | null;
  if (!step || typeof step.id !== 'string') return null;
  return {
    id: cleanLine(step.id),
    number: cleanLine(step.number ?? ''),
    phase: typeof step.phase === 'string' ? cleanLine(step.phase) : null,
    title: cleanLine(step.title ?? step.id),
    kind: cleanLine(step.kind ?? ''),
    place: cleanLine(step.place ?? ''),
    ...(typeof step.command === 'string' ? { command: cleanText(step.command) } : {}),
    ...(typeof step.text === 'string' ? { text: cleanText(step.text) } : {}),
  };
}

/** Entries that end whatever was running: the run stopped there (a resume starts new attempts). */
const RUN_ENDS = new Set(['run.finished', 'session.paused', 'session.closed', 'run.started', 'session.resumed']);

export function sessionRecordOf(reading: JournalReading): SessionRecord {
  const record: SessionRecord = {
    session: '',
    runbook: { name: '', file: '', hash: '' },
    sites: { upgrader: UTC, site: UTC },
    by: null,
    phases: [],
    steps: [],
    startedAt: 0,
    endedAt: 0,
    outcome: 'unfinished',
    attempts: [],
    confirmations: [],
    decisions: [],
    skips: [],
    chat: [],
    events: [],
    warnings: [],
  };
  const entries = [...reading.entries].sort((a, b) => a.seq - b.seq);
  if (entries.length === 0) record.warnings.push('The journal has no entries.');
  const times = entries.map(timeOf).filter((at) => at > 0);
  record.startedAt = times.length > 0 ? Math.min(...times) : 0;
  record.endedAt = times.length > 0 ? Math.max(...times) : 0;

  const stepsById = new Map<string, StepInfo>();
  const phaseNames = new Set<string>();
  const open = new Map<string, Attempt>();
  let inFallback = false;
  const isFallbackStep = (stepId: string) => {
    const step = stepsById.get(stepId);
    return step ? step.phase === null : inFallback;
  };
  const lastAttemptOf = (stepId: string) => record.attempts.findLast((attempt) => attempt.stepId === stepId);
  const endOpen = (at: number, status: AttemptStatus) => {
    for (const attempt of open.values()) {
      attempt.endedAt = at;
      attempt.durationMs = Math.max(0, at - attempt.startedAt);
      attempt.status = status;
    }
    open.clear();
  };

  for (const entry of entries) {
    const at = timeOf(entry);
    if (RUN_ENDS.has(entry.type)) endOpen(at, 'interrupted');
    switch (entry.type) {
      case 'run.started':
      case 'session.resumed': {
        const first = record.session === '';
        record.session = str(entry, 'session') || record.session;
        const runbook = entry['runbook'] as Record<string, unknown> | undefined;
        if (runbook) record.runbook = { name: cleanLine(runbook['name']), file: cleanLine(runbook['file']), hash: cleanLine(runbook['hash']) };
        const sites = (entry['sites'] ?? {}) as Record<string, unknown>;
        if (sites['upgrader'] || sites['site']) record.sites = { upgrader: siteOf(sites['upgrader']), site: siteOf(sites['site']) };
        if (entry['by'] && entry.type === 'run.started') record.by = actorOf(entry['by']);
        for (const phase of (entry['phases'] ?? []) as Partial<PhaseInfo>[]) {
          if (typeof phase.name !== 'string' || phaseNames.has(phase.name)) continue;
          phaseNames.add(phase.name);
          record.phases.push({ name: cleanLine(phase.name), title: cleanLine(phase.title ?? phase.name) });
        }
        for (const value of (entry['steps'] ?? []) as unknown[]) {
          const step = stepOf(value);
          if (step && !stepsById.has(step.id)) stepsById.set(step.id, step);
        }
        // Until this run ends, the session has no outcome: the one of an earlier run was only a pause.
        record.outcome = 'unfinished';
        const by = entry['by'] ? ` by ${actorOf(entry['by']).name}` : '';
        const host = entry['host'] ? ` on ${str(entry, 'host')}` : '';
        const what = entry.type === 'session.resumed' ? 'session resumed' : first ? 'run started' : 'run started again';
        record.events.push({ at, type: entry.type, text: `${what}${by}${host}` });
        break;
      }
      case 'session.paused': {
        const by = entry['by'] ? ` by ${actorOf(entry['by']).name}` : '';
        const reason = entry['reason'] ? `: ${str(entry, 'reason')}` : '';
        record.events.push({ at, type: entry.type, text: `session paused${by}${reason}` });
        break;
      }
      case 'journal.torn':
        record.warnings.push(
          `nightshift once stopped while writing line ${str(entry, 'line')} of the journal; that line was left out when the session resumed.`,
        );
        record.events.push({ at, type: entry.type, text: `line ${str(entry, 'line')} of the journal was cut off and left out` });
        break;
      case 'runbook.changed':
        record.events.push({ at, type: entry.type, text: `the runbook changed (sha256 ${str(entry, 'previous')} → ${str(entry, 'hash')}); the session went on with the changed one` });
        break;
      case 'step.checked': {
        const exit = typeof entry['exitCode'] === 'number' ? `exit status ${entry['exitCode']}` : 'no exit status';
        const error = entry['error'] ? `, ${str(entry, 'error')}` : '';
        record.events.push({ at, type: entry.type, text: `step ${stepsById.get(str(entry, 'stepId'))?.number ?? str(entry, 'stepId')}: "already done?" check: ${exit}${error}` });
        break;
      }
      case 'step.held':
      case 'step.released': {
        const number = stepsById.get(str(entry, 'stepId'))?.number ?? str(entry, 'stepId');
        const why = entry['why'] ? ` (${str(entry, 'why')})` : '';
        const text = entry.type === 'step.held' ? `step ${number} held: it needs hands on site${why}` : `step ${number} released: hands on site`;
        record.events.push({ at, type: entry.type, text });
        break;
      }
      case 'run.finished':
        record.outcome = str(entry, 'outcome') || record.outcome;
        record.events.push({ at, type: entry.type, text: `run finished: ${outcomeText(record.outcome)}` });
        break;
      case 'session.closed':
        record.outcome = str(entry, 'outcome') || record.outcome;
        record.events.push({ at, type: entry.type, text: `session closed: ${outcomeText(record.outcome)}` });
        break;
      case 'host.state': {
        const error = entry['error'] ? `: ${str(entry, 'error')}` : '';
        record.events.push({ at, type: entry.type, text: `${str(entry, 'host')} ${str(entry, 'state')}${error}` });
        break;
      }
      case 'step.started': {
        const stepId = str(entry, 'stepId');
        const attemptNumber = typeof entry['attempt'] === 'number' ? entry['attempt'] : (lastAttemptOf(stepId)?.attempt ?? 0) + 1;
        const attempt: Attempt = {
          stepId,
          attempt: attemptNumber,
          fallback: isFallbackStep(stepId),
          startedAt: at,
          endedAt: at,
          status: 'running',
          durationMs: 0,
        };
        const previous = open.get(stepId);
        if (previous) Object.assign(previous, { endedAt: at, durationMs: Math.max(0, at - previous.startedAt), status: 'interrupted' });
        record.attempts.push(attempt);
        open.set(stepId, attempt);
        break;
      }
      case 'step.finished': {
        const stepId = str(entry, 'stepId');
        const durationMs = typeof entry['durationMs'] === 'number' ? entry['durationMs'] : undefined;
        let attempt = open.get(stepId);
        if (!attempt) {
          // Finished after a resume without a new start (re-attached), or its start is missing.
          const last = lastAttemptOf(stepId);
          if (last && last.status === 'interrupted') attempt = last;
          else {
            attempt = {
              stepId,
              attempt: (last?.attempt ?? 0) + 1,
              fallback: isFallbackStep(stepId),
              startedAt: at - (durationMs ?? 0),
              endedAt: at,
              status: 'running',
              durationMs: 0,
            };
            record.attempts.push(attempt);
          }
        }
        open.delete(stepId);
        attempt.endedAt = at;
        attempt.durationMs = durationMs ?? Math.max(0, at - attempt.startedAt);
        attempt.status = entry['status'] === 'done' ? 'done' : 'failed';
        if ('exitCode' in entry) attempt.exitCode = typeof entry['exitCode'] === 'number' ? entry['exitCode'] : null;
        if (entry['error'] !== undefined) attempt.error = str(entry, 'error');
        break;
      }
      case 'step.skipped': {
        const stepId = str(entry, 'stepId');
        const skip: Skip = { stepId, by: actorOf(entry['by']), reason: str(entry, 'reason'), at };
        record.skips.push(skip);
        const attempt = open.get(stepId);
        if (attempt) {
          open.delete(stepId);
          attempt.endedAt = at;
          attempt.durationMs = Math.max(0, at - attempt.startedAt);
          attempt.status = 'skipped';
        }
        break;
      }
      case 'step.confirmed':
        record.confirmations.push({
          stepId: str(entry, 'stepId'),
          kind: 'confirmed',
          role: str(entry, 'role'),
          by: actorOf(entry['by']),
          relayed: entry['relayed'] === true,
          at,
        });
        break;
      case 'step.approved':
      case 'step.refused': {
        const by = actorOf(entry['by']);
        record.confirmations.push({
          stepId: str(entry, 'stepId'),
          kind: entry.type === 'step.approved' ? 'approved' : 'refused',
          role: by.role,
          by,
          relayed: false,
          ...optionalReason(entry),
          at,
        });
        break;
      }
      case 'decision':
        // A reattach follows the failed attempt again: its end comes later, as the same attempt.
        if (entry['action'] === 'reattach' && typeof entry['stepId'] === 'string') {
          const followed = lastAttemptOf(entry['stepId']);
          if (followed) {
            followed.status = 'running';
            open.set(entry['stepId'], followed);
          }
        }
        record.decisions.push({
          stepId: typeof entry['stepId'] === 'string' ? str(entry, 'stepId') : null,
          action: str(entry, 'action'),
          by: actorOf(entry['by']),
          ...optionalReason(entry),
          at,
        });
        break;
      case 'fallback.started': {
        inFallback = true;
        const from = typeof entry['fromStepId'] === 'string' ? ` from step ${stepsById.get(str(entry, 'fromStepId'))?.number ?? str(entry, 'fromStepId')}` : '';
        record.events.push({ at, type: entry.type, text: `fallback started${from} by ${actorOf(entry['by']).name}: ${str(entry, 'reason')}` });
        break;
      }
      case 'output.closed': {
        const stepId = str(entry, 'stepId');
        const number = typeof entry['attempt'] === 'number' ? entry['attempt'] : undefined;
        const attempt = record.attempts.findLast((candidate) => candidate.stepId === stepId && (number === undefined || candidate.attempt === number));
        if (attempt && typeof entry['file'] === 'string') {
          attempt.output = {
            file: entry['file'],
            bytes: typeof entry['bytes'] === 'number' ? entry['bytes'] : 0,
            lines: typeof entry['lines'] === 'number' ? entry['lines'] : 0,
          };
        }
        break;
      }
      case 'chat.message':
        record.chat.push({ from: actorOf(entry['from']), text: cleanText(entry['text']), at });
        break;
      case 'step.waiting':
        break;
      case 'revert.armed':
      case 'revert.disarmed':
      case 'revert.kept':
      case 'revert.unconfirmed':
      case 'revert.fired':
      case 'revert.unseen': {
        const stepId = str(entry, 'stepId');
        const number = typeof entry['attempt'] === 'number' ? entry['attempt'] : undefined;
        const attempt = record.attempts.findLast((candidate) => candidate.stepId === stepId && (number === undefined || candidate.attempt === number));
        const text = revertNoteText(entry);
        if (attempt) (attempt.reverts ??= []).push({ at, text });
        if (entry.type === 'revert.fired' || entry.type === 'revert.unseen') record.events.push({ at, type: entry.type, text: `step ${stepsById.get(stepId)?.number ?? stepId}: ${text}` });
        break;
      }
      default:
        if (!RUN_ENDS.has(entry.type)) record.events.push({ at, type: cleanLine(entry.type), text: describeOther(entry) });
    }
  }
  // The journal stops here: whatever still ran did not finish as far as it knows.
  endOpen(record.endedAt, record.outcome === 'unfinished' ? 'running' : 'interrupted');

  if (reading.torn) {
    record.warnings.push(
      `The journal's last line (line ${reading.torn.line}) is incomplete: nightshift stopped while writing it. It is left out of this report.`,
    );
  }
  record.steps = [...stepsById.values()];
  // Steps the journal does not describe (an older journal) still get a row.
  for (const attempt of record.attempts) {
    if (!stepsById.has(attempt.stepId)) {
      const step: StepInfo = { id: attempt.stepId, number: '', phase: attempt.fallback ? null : '', title: attempt.stepId, kind: '', place: '' };
      stepsById.set(step.id, step);
      record.steps.push(step);
    }
  }
  return record;
}

function revertNoteText(entry: JournalEntry): string {
  const host = str(entry, 'host');
  switch (entry.type) {
    case 'revert.armed': {
      const after = typeof entry['afterMs'] === 'number' ? ` to fire after ${Math.round(entry['afterMs'] / 1000)} s` : '';
      return `revert armed on ${host} (${str(entry, 'how')})${after} unless confirmed from a new connection`;
    }
    case 'revert.disarmed':
      return `revert disarmed: ${host} answered a new connection, the change stays`;
    case 'revert.kept':
      return `revert left armed on ${host}: ${str(entry, 'why')}; it undoes the change when it fires`;
    case 'revert.unconfirmed':
      return `not confirmed in time: no new connection reached ${host} (${str(entry, 'error')})`;
    case 'revert.fired': {
      const exit = typeof entry['exitCode'] === 'number' ? `exited ${entry['exitCode']}` : 'ended without a status';
      return `the revert ran on ${host} and ${exit}`;
    }
    default:
      return `${host} did not answer again after the deadline: whether the revert ran is not known`;
  }
}

function describeOther(entry: JournalEntry): string {
  const { seq: _seq, at: _at, type, ...fields } = entry;
  const text = JSON.stringify(fields);
  return cleanLine(`${type} ${text === '{}' ? '' : text}`.trim());
}
