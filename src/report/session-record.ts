// What happened in a session, read from its journal: the model every report format is
// rendered from. Pure: the journal's entries in (parsed, see store/journal-entries.ts), a
// SessionRecord out; one small handler per entry type.
import type { EntryType, JournalEntryOf, JournalReading } from '../store/journal.js';
import { visibleText } from '../output/neutralize.js';
import { formatDuration } from '../runbook/duration.js';
import type { Site, Sites } from './clocks.js';
import { outcomeText } from '../text/outcome.js';
import { isTimeZone } from '../runbook/zoned-time.js';
import { isHostStep, RolloutReader, type Rollout } from './rollout-record.js';

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
  /** The host of a rollout it was about (skip it, fall it back, stop the rollout at it). */
  host?: string;
  at: number;
}

export interface Skip {
  stepId: string;
  by: Actor;
  reason: string;
  at: number;
}

/** A value a step captured (`capture:`), for the steps after it. */
export interface CapturedValue {
  stepId: string;
  name: string;
  value: string;
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
  /** Values steps captured, in order (a value captured again, by a retry, is listed again). */
  values?: CapturedValue[];
  chat: ChatMessage[];
  events: SessionEvent[];
  /** The fallbacks started, in order: "fallback of phase swap", or "the runbook's fallback". */
  fallbacks: string[];
  /** Problems with the journal itself, such as a torn last line. */
  warnings: string[];
  /** Going again (`run --from`, `again`): the phase this session started at, and the session that did the steps before (null: none known). */
  again?: { from: string; session: string | null };
  /** The sessions that went again from this one (found by the report command among the others; the journal cannot know them). */
  goneAgainIn?: string[];
  /** Steps found already done by their check, asked before they ran: what the check printed. */
  foundDone?: FoundDone[];
  /** The rollouts (`for_each` phases) the run started: each host's outcome, each batch's times. */
  rollouts?: Rollout[];
  /** Shells the upgrader opened by hand (`!`), in order. */
  shells?: HandShellRecord[];
}

export interface HandShellRecord {
  host: string;
  /** user@address[:port] as logged in. */
  where: string;
  by: Actor;
  /** The step on screen when it was opened. */
  stepId: string | null;
  /** Its screen's log and asciicast, relative to the session folder. */
  file: string;
  cast: string;
  openedAt: number;
  /** How it ended; absent when the journal stops before (nightshift was stopped meanwhile). */
  end?: { at: number; exitCode: number | null; signal?: string; cut: boolean; bytes: number; recordingError?: string };
}

export interface FoundDone {
  stepId: string;
  output: string;
  at: number;
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

function actorOf(actor: { role: string; name: string }): Actor {
  return { role: cleanLine(actor.role), name: cleanLine(actor.name) };
}

function siteOf(site: { name: string; tz: string }): Site {
  return { name: cleanLine(site.name), tz: isTimeZone(site.tz) ? site.tz : 'UTC' };
}

function timeOf(entry: { at: string }): number {
  const at = Date.parse(entry.at);
  return Number.isNaN(at) ? 0 : at;
}

function optionalReason(reason: string | undefined): { reason?: string } {
  return reason !== undefined && reason.trim() !== '' ? { reason: cleanLine(reason) } : {};
}

function stepOf(step: JournalEntryOf<'run.started'>['steps'][number]): StepInfo {
  return {
    id: cleanLine(step.id),
    number: cleanLine(step.number),
    phase: step.phase === null ? null : cleanLine(step.phase),
    title: cleanLine(step.title),
    kind: cleanLine(step.kind),
    place: cleanLine(step.place),
    ...(step.command !== undefined ? { command: cleanText(step.command) } : {}),
    ...(step.text !== undefined ? { text: cleanText(step.text) } : {}),
  };
}

/** Entries that end whatever was running: the run stopped there (a resume starts new attempts). */
const RUN_ENDS = new Set<string>(['run.finished', 'session.paused', 'session.closed', 'run.started', 'session.resumed']);

/** What the handlers build the record with, as the entries are read in order. */
class RecordBuilder {
  readonly stepsById = new Map<string, StepInfo>();
  readonly phaseNames = new Set<string>();
  readonly open = new Map<string, Attempt>();
  inFallback = false;
  readonly rollouts: RolloutReader;

  constructor(readonly record: SessionRecord) {
    this.rollouts = new RolloutReader((record.rollouts ??= []), cleanLine);
  }

  /** The last failed attempt of a step of `host` in `phase`, with its error. */
  lastFailureOf(phase: string, host: string): { stepId: string; error?: string } | undefined {
    const failed = this.record.attempts.findLast(
      (attempt) => attempt.status === 'failed' && isHostStep(attempt.stepId, host) && this.stepsById.get(attempt.stepId)?.phase === phase,
    );
    return failed ? { stepId: failed.stepId, ...(failed.error !== undefined ? { error: failed.error } : {}) } : undefined;
  }

  isFallbackStep(stepId: string): boolean {
    const step = this.stepsById.get(stepId);
    // A phase's own fallback step is numbered like 2.F1 (2.F1@vm2 for a host of a rollout).
    return step ? step.phase === null || /\.F\d+(@.*)?$/.test(step.number) : this.inFallback;
  }

  lastAttemptOf(stepId: string, number?: number): Attempt | undefined {
    return this.record.attempts.findLast((attempt) => attempt.stepId === stepId && (number === undefined || attempt.attempt === number));
  }

  stepNumber(stepId: string): string {
    return this.stepsById.get(stepId)?.number ?? cleanLine(stepId);
  }

  endOpen(at: number, status: AttemptStatus): void {
    for (const attempt of this.open.values()) end(attempt, at, status);
    this.open.clear();
  }

  event(at: number, type: string, text: string): void {
    this.record.events.push({ at, type, text });
  }
}

function end(attempt: Attempt, at: number, status: AttemptStatus, durationMs = Math.max(0, at - attempt.startedAt)): void {
  Object.assign(attempt, { endedAt: at, durationMs, status });
}

type Handler<T extends EntryType> = (entry: JournalEntryOf<T>, at: number, builder: RecordBuilder) => void;
type Handlers = { [T in EntryType]?: Handler<T> };

function started(entry: JournalEntryOf<'run.started' | 'session.resumed'>, at: number, builder: RecordBuilder): void {
  const { record } = builder;
  const first = record.session === '';
  record.session = cleanLine(entry.session) || record.session;
  record.runbook = { name: cleanLine(entry.runbook.name), file: cleanLine(entry.runbook.file), hash: cleanLine(entry.runbook.hash) };
  record.sites = { upgrader: siteOf(entry.sites.upgrader), site: siteOf(entry.sites.site) };
  if (entry.type === 'run.started') {
    record.by = actorOf(entry.by);
    if (entry.again) record.again = { from: cleanLine(entry.again.from), session: entry.again.session === null ? null : cleanLine(entry.again.session) };
    for (const phase of entry.phases) {
      if (builder.phaseNames.has(phase.name)) continue;
      builder.phaseNames.add(phase.name);
      record.phases.push({ name: cleanLine(phase.name), title: cleanLine(phase.title) });
    }
    for (const step of entry.steps) if (!builder.stepsById.has(step.id)) builder.stepsById.set(step.id, stepOf(step));
  }
  // Until this run ends, the session has no outcome: the one of an earlier run was only a pause.
  record.outcome = 'unfinished';
  const what = entry.type === 'session.resumed' ? 'session resumed' : first ? 'run started' : 'run started again';
  builder.event(at, entry.type, `${what} by ${actorOf(entry.by).name} on ${cleanLine(entry.host)}`);
}

function revertNote(entry: JournalEntryOf<`revert.${string}` & EntryType>, at: number, builder: RecordBuilder): void {
  const text = revertNoteText(entry);
  const attempt = builder.lastAttemptOf(entry.stepId, entry.attempt);
  if (attempt) (attempt.reverts ??= []).push({ at, text });
  if (entry.type === 'revert.fired' || entry.type === 'revert.unseen') builder.event(at, entry.type, `step ${builder.stepNumber(entry.stepId)}: ${text}`);
}

/** How a shell by hand ended, in words. */
export function shellEndText(end: HandShellRecord['end']): string {
  if (!end) return 'still open when the journal stops';
  const how = end.cut
    ? 'cut off by the upgrader (Enter ~.)'
    : end.exitCode !== null
      ? `exited ${end.exitCode}`
      : end.signal
        ? `ended by ${cleanLine(end.signal)}`
        : 'the link went before it ended';
  return end.recordingError ? `${how} (its recording stopped before: ${cleanLine(end.recordingError)})` : how;
}

const HANDLERS: Handlers = {
  'shell.opened': (entry, at, builder) => {
    const shell: HandShellRecord = {
      host: cleanLine(entry.host),
      where: cleanLine(entry.where),
      by: actorOf(entry.by),
      stepId: entry.stepId,
      file: cleanLine(entry.file),
      cast: cleanLine(entry.cast),
      openedAt: at,
    };
    (builder.record.shells ??= []).push(shell);
    const step = entry.stepId !== null ? ` while step ${builder.stepNumber(entry.stepId)} was shown` : '';
    builder.event(at, entry.type, `shell on ${shell.host} opened by ${shell.by.name}${step} (${shell.where}): recorded in ${shell.file}`);
  },
  'shell.closed': (entry, at, builder) => {
    const shell = builder.record.shells?.findLast((candidate) => candidate.file === cleanLine(entry.file) && !candidate.end);
    const end = {
      at,
      exitCode: entry.exitCode,
      ...(entry.signal ? { signal: entry.signal } : {}),
      cut: entry.cut,
      bytes: entry.bytes,
      ...(entry.recordingError ? { recordingError: entry.recordingError } : {}),
    };
    if (shell) shell.end = end;
    builder.event(at, entry.type, `shell on ${cleanLine(entry.host)} ${shellEndText(end)} after ${formatDuration(entry.durationMs)}`);
  },
  'run.started': started,
  'session.resumed': started,
  'session.paused': (entry, at, builder) =>
    builder.event(at, entry.type, `session paused by ${actorOf(entry.by).name}${entry.reason ? `: ${cleanLine(entry.reason)}` : ''}`),
  'journal.torn': (entry, at, builder) => {
    builder.record.warnings.push(`nightshift once stopped while writing line ${entry.line} of the journal; that line was left out when the session resumed.`);
    builder.event(at, entry.type, `line ${entry.line} of the journal was cut off and left out`);
  },
  'journal.invalid': (entry, at, builder) => {
    const text = `entry ${entry.entrySeq} (${cleanLine(entry.entryType)}) was written although it does not match its schema: ${cleanLine(entry.problem)}`;
    builder.record.warnings.push(`The journal's ${text}.`);
    builder.event(at, entry.type, text);
  },
  'runbook.changed': (entry, at, builder) =>
    builder.event(
      at,
      entry.type,
      `the runbook changed (sha256 ${cleanLine(entry.previous)} → ${cleanLine(entry.hash)}); the session went on with the changed one`,
    ),
  'step.checked': (entry, at, builder) => {
    const exit = entry.exitCode !== null ? `exit status ${entry.exitCode}` : 'no exit status';
    const error = entry.error ? `, ${cleanLine(entry.error)}` : '';
    builder.event(at, entry.type, `step ${builder.stepNumber(entry.stepId)}: "already done?" check: ${exit}${error}`);
  },
  'step.held': (entry, at, builder) =>
    builder.event(at, entry.type, `step ${builder.stepNumber(entry.stepId)} held: it needs hands on site${entry.why ? ` (${cleanLine(entry.why)})` : ''}`),
  'step.released': (entry, at, builder) => builder.event(at, entry.type, `step ${builder.stepNumber(entry.stepId)} released: hands on site`),
  'run.finished': (entry, at, builder) => {
    builder.record.outcome = entry.outcome;
    builder.event(at, entry.type, `run finished: ${outcomeText(entry.outcome)}`);
  },
  'session.closed': (entry, at, builder) => {
    builder.record.outcome = entry.outcome;
    builder.event(at, entry.type, `session closed: ${outcomeText(entry.outcome)}`);
  },
  'host.state': (entry, at, builder) =>
    builder.event(
      at,
      entry.type,
      `${cleanLine(entry.host)} ${entry.state}${entry.loggedInBy === 'check' ? ' (logged in by the check before the run)' : ''}${entry.error ? `: ${cleanLine(entry.error)}` : ''}`,
    ),
  'step.started': (entry, at, builder) => {
    const previous = builder.open.get(entry.stepId);
    if (previous) end(previous, at, 'interrupted');
    const attempt: Attempt = {
      stepId: entry.stepId,
      attempt: entry.attempt,
      fallback: builder.isFallbackStep(entry.stepId),
      startedAt: at,
      endedAt: at,
      status: 'running',
      durationMs: 0,
    };
    builder.record.attempts.push(attempt);
    builder.open.set(entry.stepId, attempt);
  },
  'step.finished': (entry, at, builder) => {
    const { stepId } = entry;
    let attempt = builder.open.get(stepId);
    if (!attempt) {
      // Finished after a resume without a new start (re-attached), or its start is missing.
      const last = builder.lastAttemptOf(stepId);
      if (last && last.status === 'interrupted') attempt = last;
      else {
        attempt = {
          stepId,
          attempt: (last?.attempt ?? 0) + 1,
          fallback: builder.isFallbackStep(stepId),
          startedAt: at - entry.durationMs,
          endedAt: at,
          status: 'running',
          durationMs: 0,
        };
        builder.record.attempts.push(attempt);
      }
    }
    builder.open.delete(stepId);
    end(attempt, at, entry.status, entry.durationMs);
    if ('exitCode' in entry) attempt.exitCode = entry.exitCode ?? null;
    if (entry.error !== undefined) attempt.error = cleanLine(entry.error);
  },
  'step.skipped': (entry, at, builder) => {
    builder.record.skips.push({ stepId: cleanLine(entry.stepId), by: actorOf(entry.by), reason: cleanLine(entry.reason), at });
    const attempt = builder.open.get(entry.stepId);
    if (attempt) {
      builder.open.delete(entry.stepId);
      end(attempt, at, 'skipped');
    }
  },
  'step.confirmed': (entry, at, builder) =>
    builder.record.confirmations.push({
      stepId: cleanLine(entry.stepId),
      kind: 'confirmed',
      role: cleanLine(entry.role),
      by: actorOf(entry.by),
      relayed: entry.relayed,
      at,
    }),
  'step.approved': (entry, at, builder) => {
    const by = actorOf(entry.by);
    builder.record.confirmations.push({ stepId: cleanLine(entry.stepId), kind: 'approved', role: by.role, by, relayed: false, at });
  },
  'step.refused': (entry, at, builder) => {
    const by = actorOf(entry.by);
    // A refusal of an action on the whole run (a fallback, a pause) concerns no step: it is told with the run's events.
    if (entry.stepId === null) {
      builder.event(at, entry.type, `${entry.action ?? 'an action'} by ${by.name} not accepted: ${cleanLine(entry.reason)}`);
      return;
    }
    builder.record.confirmations.push({
      stepId: cleanLine(entry.stepId),
      kind: 'refused',
      role: by.role,
      by,
      relayed: false,
      ...optionalReason(entry.reason),
      at,
    });
  },
  decision: (entry, at, builder) => {
    // A reattach follows the failed attempt again: its end comes later, as the same attempt.
    if (entry.action === 'reattach' && entry.stepId !== null) {
      const followed = builder.lastAttemptOf(entry.stepId);
      if (followed) {
        followed.status = 'running';
        builder.open.set(entry.stepId, followed);
      }
    }
    builder.record.decisions.push({
      stepId: entry.stepId === null ? null : cleanLine(entry.stepId),
      action: cleanLine(entry.action),
      by: actorOf(entry.by),
      ...optionalReason(entry.reason),
      ...(entry.host !== undefined ? { host: cleanLine(entry.host) } : {}),
      at,
    });
  },
  'fallback.started': (entry, at, builder) => {
    builder.inFallback = true;
    const from = entry.fromStepId !== null ? ` from step ${builder.stepNumber(entry.fromStepId)}` : '';
    const scope = typeof entry.scope === 'string' ? `fallback of phase ${cleanLine(entry.scope)}` : "the runbook's fallback";
    builder.record.fallbacks.push(scope);
    builder.event(
      at,
      entry.type,
      `${typeof entry.scope === 'string' ? scope : 'fallback'} started${from} by ${actorOf(entry.by).name}: ${cleanLine(entry.reason)}`,
    );
  },
  'edit.prepared': (entry, at, builder) => {
    const counted = (sign: string) => entry.diff.split('\n').filter((line) => line.startsWith(sign) && !line.startsWith(`${sign.repeat(3)} `)).length;
    const found = entry.changed
      ? `a change to ${cleanLine(entry.path)} shown for approval (+${counted('+')} -${counted('-')} lines)`
      : `${cleanLine(entry.path)} had nothing to change`;
    builder.event(at, entry.type, `step ${builder.stepNumber(entry.stepId)}: ${found}`);
  },
  'output.closed': (entry, _at, builder) => {
    const attempt = builder.lastAttemptOf(entry.stepId, entry.attempt);
    if (attempt) attempt.output = { file: entry.file, bytes: entry.bytes, lines: entry.lines };
  },
  'value.captured': (entry, at, builder) => {
    (builder.record.values ??= []).push({ stepId: cleanLine(entry.stepId), name: cleanLine(entry.name), value: cleanLine(entry.value), at });
  },
  'chat.message': (entry, at, builder) => builder.record.chat.push({ from: actorOf(entry.from), text: cleanText(entry.text), at }),
  'step.waiting': () => {},
  'step.found-done': (entry, at, builder) => {
    (builder.record.foundDone ??= []).push({ stepId: cleanLine(entry.stepId), output: cleanText(entry.output), at });
    builder.event(at, entry.type, `step ${builder.stepNumber(entry.stepId)} already done (its check passed): not run`);
  },
  'batch.started': (entry, at, builder) => {
    builder.rollouts.batchStarted(entry, at);
    builder.event(
      at,
      entry.type,
      `${entry.canary ? 'canary ' : ''}batch ${entry.batch} of ${cleanLine(entry.phase)} started: ${entry.hosts.map(cleanLine).join(' ')}`,
    );
  },
  'batch.finished': (entry, at, builder) => {
    builder.rollouts.batchFinished(entry, at);
    const failed = entry.failed.length > 0 ? `, ${entry.failed.length} failed: ${entry.failed.map(cleanLine).join(' ')}` : '';
    builder.event(at, entry.type, `batch ${entry.batch} of ${cleanLine(entry.phase)} finished: ${entry.done.length} done${failed}`);
  },
  'host.started': (entry, at, builder) => builder.rollouts.hostStarted(entry, at),
  'host.finished': (entry, at, builder) => builder.rollouts.hostFinished(entry, at, builder.lastFailureOf(cleanLine(entry.phase), cleanLine(entry.host))),
  'rollout.halted': (entry, at, builder) => {
    builder.rollouts.halted(entry, at);
    builder.event(at, entry.type, `rollout of ${cleanLine(entry.phase)} halted after batch ${entry.batch}: ${cleanLine(entry.reason)}`);
  },
  'revert.armed': revertNote,
  'revert.disarmed': revertNote,
  'revert.kept': revertNote,
  'revert.unconfirmed': revertNote,
  'revert.fired': revertNote,
  'revert.unseen': revertNote,
  'guard.armed': guardNote,
  'guard.extended': guardNote,
  'guard.committed': guardNote,
  'guard.fired': guardNote,
  'guard.spare-up': guardNote,
  'guard.spare-stopped': guardNote,
};

/** A guard's entries go in the timeline: they say when the block's changes could still be undone. */
function guardNote(entry: JournalEntryOf<`guard.${string}` & EntryType>, at: number, builder: RecordBuilder): void {
  const host = cleanLine(entry.host);
  const guard = cleanLine(entry.guard);
  const text = (() => {
    switch (entry.type) {
      case 'guard.armed':
        return `guard ${guard} armed on ${host} (${cleanLine(entry.how)}): it reverts by itself after ${formatDuration(entry.afterMs)} unless committed`;
      case 'guard.extended':
        return `guard ${guard}: the deadline on ${host} moved later, to ${new Date(entry.deadline).toISOString()}`;
      case 'guard.committed':
        return `guard ${guard} committed on ${host}: it answered a new connection, the changes stay`;
      case 'guard.spare-up':
        return `guard ${guard}: a spare way in to ${host} is up on port ${entry.port} (${cleanLine(entry.server)}), proved by a login through it`;
      case 'guard.spare-stopped':
        return `guard ${guard}: the spare way in to ${host} stopped${entry.through !== undefined ? `, through ${cleanLine(entry.through)}` : ''}`;
      case 'guard.fired': {
        const how = entry.by === 'deadline' ? 'by itself at its deadline' : 'fired by nightshift';
        return `guard ${guard}: the revert on ${host} ran ${how} and ${entry.exitCode !== null ? `exited ${entry.exitCode}` : 'ended without a status'}`;
      }
    }
  })();
  builder.event(at, entry.type, text ?? entry.type);
}

function handle<T extends EntryType>(entry: JournalEntryOf<T>, at: number, builder: RecordBuilder): void {
  const handler = HANDLERS[entry.type as T] as Handler<T> | undefined;
  if (handler) handler(entry, at, builder);
  else builder.event(at, cleanLine(entry.type), describeOther(entry));
}

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
    fallbacks: [],
    warnings: [],
  };
  const entries = [...reading.entries].sort((a, b) => a.seq - b.seq);
  if (entries.length === 0 && !reading.problems?.length) record.warnings.push('The journal has no entries.');
  const times = entries.map(timeOf).filter((at) => at > 0);
  record.startedAt = times.length > 0 ? Math.min(...times) : 0;
  record.endedAt = times.length > 0 ? Math.max(...times) : 0;

  const state = new RecordBuilder(record);
  // An entry of a type this nightshift does not know (a newer one wrote it) is shown as it is, in its place.
  const unknown = (reading.problems ?? []).flatMap((problem) => (problem.unknownType && problem.entry ? [problem.entry] : []));
  const inOrder = [...entries.map((entry) => ({ entry, known: true as const })), ...unknown.map((entry) => ({ entry, known: false as const }))];
  for (const item of inOrder.sort((a, b) => a.entry.seq - b.entry.seq)) {
    const at = timeOf(item.entry);
    if (!item.known) {
      state.event(at, cleanLine(item.entry.type), describeOther(item.entry));
      continue;
    }
    if (RUN_ENDS.has(item.entry.type)) state.endOpen(at, 'interrupted');
    handle(item.entry, at, state);
  }
  // The journal stops here: whatever still ran did not finish as far as it knows.
  state.endOpen(record.endedAt, record.outcome === 'unfinished' ? 'running' : 'interrupted');

  for (const problem of reading.problems ?? []) if (!problem.unknownType) record.warnings.push(`${problem.message} It is left out of this report.`);
  if (reading.torn) {
    record.warnings.push(
      `The journal's last line (line ${reading.torn.line}) is incomplete: nightshift stopped while writing it. It is left out of this report.`,
    );
  }
  if (record.rollouts?.length === 0) delete record.rollouts;
  record.steps = [...state.stepsById.values()];
  // Steps the journal does not describe (an older journal) still get a row.
  for (const attempt of record.attempts) {
    if (!state.stepsById.has(attempt.stepId)) {
      const step: StepInfo = { id: attempt.stepId, number: '', phase: attempt.fallback ? null : '', title: attempt.stepId, kind: '', place: '' };
      state.stepsById.set(step.id, step);
      record.steps.push(step);
    }
  }
  return record;
}

function revertNoteText(entry: JournalEntryOf<`revert.${string}` & EntryType>): string {
  const host = cleanLine(entry.host);
  switch (entry.type) {
    case 'revert.armed':
      return `revert armed on ${host} (${cleanLine(entry.how)}) to fire after ${Math.round(entry.afterMs / 1000)} s unless confirmed from a new connection`;
    case 'revert.disarmed':
      return `revert disarmed: ${host} answered a new connection, the change stays`;
    case 'revert.kept':
      return `revert left armed on ${host}: ${cleanLine(entry.why)}; it undoes the change when it fires`;
    case 'revert.unconfirmed':
      return `not confirmed in time: no new connection reached ${host} (${cleanLine(entry.error)})`;
    case 'revert.fired':
      return `the revert ran on ${host} and ${entry.exitCode !== null ? `exited ${entry.exitCode}` : 'ended without a status'}`;
    case 'revert.unseen':
      return `${host} did not answer again after the deadline: whether the revert ran is not known`;
  }
}

function describeOther(entry: { type: string; seq: unknown; at: unknown }): string {
  const { seq: _seq, at: _at, type, ...fields } = entry;
  const text = JSON.stringify(fields);
  return cleanLine(`${type} ${text === '{}' ? '' : text}`.trim());
}
