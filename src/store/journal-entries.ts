// Every entry a journal holds, one zod schema per entry type: what the journal writes is
// checked against them, and what resume, the report, `nightshift sessions` and the --json
// stream read is parsed with them. A field added later is optional here (older journals
// lack it); a new entry type is added here before anything writes it.
import { z } from 'zod';
import { HUMAN_ACTIONS, type EngineEmitted } from '../engine/events.js';
import type { RevertEvent } from '../runner/revert.js';
import type { GuardEvent } from '../runner/guard.js';
import type { HelperEndpointEvent } from '../chat/helper-endpoint.js';

const actor = z.object({ role: z.string(), name: z.string() });
const site = z.object({ name: z.string(), tz: z.string() });
const role = z.enum(['upgrader', 'sentinel']);
const chatRole = z.enum(['upgrader', 'sentinel', 'observer']);
const helperRole = z.enum(['sentinel', 'observer']);
const exitCode = z.number().int().nullable();
const humanAction = z.enum(HUMAN_ACTIONS);
const decisionAction = z.enum([
  'retry',
  'skip',
  'fallback',
  'pause',
  'continue',
  'cancel',
  'mark-done',
  'override',
  'ask-site',
  'reattach',
  'stop',
  'skip-host',
  'fallback-host',
  'stop-rollout',
]);
const hostEnd = z.enum(['done', 'failed', 'fell-back', 'skipped']);
const outcome = z.enum(['completed', 'fell-back', 'paused']);

/** What run.started says about each step (runner/step-summary.ts), so a report needs nothing but the session folder. */
const stepSummary = z.object({
  id: z.string(),
  number: z.string(),
  phase: z.string().nullable(),
  title: z.string(),
  kind: z.string(),
  place: z.string(),
  command: z.string().optional(),
  text: z.string().optional(),
});
const runbookRef = z.object({ name: z.string(), file: z.string(), hash: z.string() });
const sessionStart = {
  session: z.string(),
  runbook: runbookRef,
  sites: z.object({ upgrader: site, site }),
  by: actor,
  host: z.string(),
  pid: z.number().int(),
};

/** The engine's entries (engine/events.ts EngineEmitted, less `at`, which the journal writes as text). */
const engineShapes = {
  'step.started': { stepId: z.string(), attempt: z.number().int() },
  'step.waiting': { stepId: z.string(), for: z.enum(['approval', 'confirmation', 'decision']), roles: z.array(role) },
  'step.approved': { stepId: z.string(), by: actor },
  'step.confirmed': { stepId: z.string(), role, by: actor, relayed: z.boolean() },
  // `action` came with the refusals of whole-run actions; older journals have a step's refusals only.
  'step.refused': { stepId: z.string().nullable(), action: humanAction.optional(), by: actor, reason: z.string() },
  'step.held': { stepId: z.string(), why: z.string() },
  'step.released': { stepId: z.string() },
  'step.finished': {
    stepId: z.string(),
    status: z.enum(['done', 'failed']),
    exitCode: exitCode.optional(),
    error: z.string().optional(),
    durationMs: z.number(),
  },
  'step.skipped': { stepId: z.string(), by: actor, reason: z.string() },
  'step.checked': { stepId: z.string(), exitCode, error: z.string().optional() },
  // Any word: a newer nightshift may decide in ways this one has no name for (the report shows them as they are).
  decision: {
    stepId: z.string().nullable(),
    action: z.union([decisionAction, z.string()]),
    by: actor,
    reason: z.string().optional(),
    attempt: z.number().int().optional(),
    host: z.string().optional(),
  },
  'attempt.checked': {
    stepId: z.string(),
    attempt: z.number().int(),
    state: z.enum(['running', 'ended', 'never-started', 'unknown', 'unreachable']),
    pid: z.number().int().optional(),
    exitCode: exitCode.optional(),
    error: z.string().optional(),
  },
  'value.captured': { stepId: z.string(), name: z.string(), value: z.string() },
  'step.found-done': { stepId: z.string(), output: z.string() },
  'edit.prepared': { stepId: z.string(), path: z.string(), changed: z.boolean(), diff: z.string() },
  'fallback.started': { by: actor, reason: z.string(), fromStepId: z.string().nullable(), scope: z.string().nullable().optional() },
  'run.finished': { outcome },
  'batch.started': { phase: z.string(), batch: z.number().int(), hosts: z.array(z.string()), canary: z.boolean() },
  'batch.finished': { phase: z.string(), batch: z.number().int(), done: z.array(z.string()), failed: z.array(z.string()) },
  'host.started': { phase: z.string(), host: z.string(), batch: z.number().int() },
  'host.finished': { phase: z.string(), host: z.string(), outcome: hostEnd, reason: z.string().optional() },
  'rollout.halted': { phase: z.string(), batch: z.number().int(), failed: z.array(z.string()), maxFail: z.number().int(), reason: z.string() },
} satisfies Record<EngineEmitted['type'], z.ZodRawShape>;

const revertBase = { stepId: z.string(), attempt: z.number().int(), host: z.string() };
const revertShapes = {
  'revert.armed': { ...revertBase, how: z.string(), deadline: z.number(), afterMs: z.number() },
  'revert.disarmed': revertBase,
  'revert.kept': { ...revertBase, deadline: z.number(), why: z.string() },
  'revert.unconfirmed': { ...revertBase, deadline: z.number(), error: z.string() },
  'revert.fired': { ...revertBase, firedAt: z.number().optional(), exitCode },
  'revert.unseen': { ...revertBase, deadline: z.number() },
} satisfies Record<RevertEvent['type'], z.ZodRawShape>;

/** A guard (runbook `guard:`), host by host: see runner/guard.ts. */
const guardShapes = {
  'guard.armed': { guard: z.string(), host: z.string(), how: z.string(), deadline: z.number(), afterMs: z.number() },
  'guard.extended': { guard: z.string(), host: z.string(), deadline: z.number() },
  'guard.committed': { guard: z.string(), host: z.string() },
  'guard.fired': { guard: z.string(), host: z.string(), by: z.enum(['nightshift', 'deadline']), firedAt: z.number().optional(), exitCode },
  'guard.spare-up': { guard: z.string(), host: z.string(), port: z.number().int(), server: z.string() },
  'guard.spare-stopped': { guard: z.string(), host: z.string(), through: z.string().optional() },
} satisfies Record<GuardEvent['type'], z.ZodRawShape>;

const rebootShapes = {
  'reboot.prepared': { stepId: z.string(), attempt: z.number().int(), host: z.string(), bootId: z.string(), oneShot: z.unknown().optional() },
  'reboot.down': { stepId: z.string(), host: z.string() },
  'reboot.back': { stepId: z.string(), host: z.string(), bootId: z.string(), hostname: z.string() },
  /** What was verified: the root device, its uuid, the boot entry (runner/reboot.ts). */
  'reboot.verified': {
    stepId: z.string(),
    host: z.string(),
    bootId: z.string(),
    hostname: z.string(),
    root: z.string().optional(),
    uuid: z.string().optional(),
    defaultEntry: z.string().optional(),
  },
  'reboot.abandoned': { stepId: z.string(), host: z.string(), reason: z.string() },
};

const runShapes = {
  'run.started': {
    ...sessionStart,
    phases: z.array(z.object({ name: z.string(), title: z.string() })),
    steps: z.array(stepSummary),
    /** Going again (`run --from`, `again`): the phase it started at, and the session that did the steps before (null: none known). */
    again: z.object({ from: z.string(), session: z.string().nullable() }).optional(),
  },
  'session.resumed': { ...sessionStart, stepId: z.string().nullable(), interrupted: z.boolean() },
  'session.paused': { by: actor, reason: z.string(), stepId: z.string().nullable() },
  'session.closed': { outcome: z.enum(['completed', 'fell-back', 'paused', 'interrupted']) },
  /**
   * A connection's state changed: a drop is `failed` or `reconnecting`, a reconnect `connected`
   * again. A login of the check before the run that the run goes on with is `connected` with
   * `loggedInBy: check`, written as the run starts; such a link that drops before any step
   * used it is `idle` again, with why.
   */
  'host.state': {
    host: z.string(),
    state: z.enum(['idle', 'connecting', 'connected', 'failed', 'reconnecting', 'lost', 'closed']),
    error: z.string().optional(),
    loggedInBy: z.literal('check').optional(),
    /** The login went to the host's spare way in (runbook `spare_access`), and why. */
    through: z.string().optional(),
  },
  /** A step attempt's output file (relative to the session folder), when it closed. */
  'output.closed': { stepId: z.string(), attempt: z.number().int(), file: z.string(), bytes: z.number().int(), lines: z.number().int() },
  /**
   * The upgrader opened a shell by hand (`!`) on a host, while `stepId` was shown; its screen
   * is recorded to `file` (and `cast`, asciicast v2), relative to the session folder.
   */
  'shell.opened': { host: z.string(), where: z.string(), by: actor, stepId: z.string().nullable(), file: z.string(), cast: z.string() },
  /** The shell ended: its exit status (null: the link went first, or it was cut), and what it printed. */
  'shell.closed': {
    host: z.string(),
    file: z.string(),
    exitCode,
    signal: z.string().optional(),
    cut: z.boolean(),
    bytes: z.number().int(),
    durationMs: z.number().int(),
    /** The recording stopped before (a full disk, its folder removed): its files keep what came before. */
    recordingError: z.string().optional(),
  },
  'journal.torn': { line: z.number().int(), text: z.string() },
  /** An entry written although it did not match its schema (see Journal): the record is kept, this says what was wrong. */
  'journal.invalid': { entrySeq: z.number().int(), entryType: z.string(), problem: z.string() },
  'snapshot.failed': { file: z.string(), error: z.string(), lastSavedAt: z.string().nullable(), fromSeq: z.number().int().optional() },
  'snapshot.recovered': { file: z.string(), failures: z.number().int() },
  'snapshot.stale-accepted': { savedAt: z.string().nullable(), steps: z.array(z.string()) },
  'runbook.changed': { hash: z.string(), previous: z.string(), changes: z.array(z.unknown()) },
  /** A host's facts, gathered once per run for `when:` conditions. */
  'host.facts': {
    host: z.string(),
    facts: z.object({
      systemd: z.boolean(),
      cpus: z.number().int(),
      distro: z.string(),
      distro_like: z.string(),
      distro_version: z.string(),
      kernel: z.string(),
      arch: z.string(),
    }),
  },
};

const helperShapes = {
  'helper.joined': { role: helperRole, id: z.string(), from: z.string() },
  'helper.left': { role: helperRole, id: z.string() },
  'helper.refused': { username: z.string(), reason: z.string(), from: z.string() },
  'helper.locked': { until: z.number(), failures: z.number().int() },
  'helper.crowded': { limit: z.number().int(), refused: z.number().int() },
  'helper.unlocked': { reason: z.enum(['expired', 'new-code']) },
  'helper.code-changed': { reason: z.enum(['drawn', 'used']) },
  'helper.tunnel-refused': { host: z.string(), addresses: z.array(z.string()), error: z.string() },
};

const chatShapes = {
  'chat.joined': { id: z.string(), name: z.string(), role: chatRole },
  'chat.left': { id: z.string(), name: z.string(), role: chatRole },
  'chat.message': { from: z.object({ role: chatRole, name: z.string() }), text: z.string(), tz: z.string().optional() },
  'chat.away': { id: z.string(), name: z.string(), role: chatRole, minutes: z.number().nullable(), reason: z.string() },
  'chat.back': { id: z.string(), name: z.string(), role: chatRole },
  'chat.renamed': { id: z.string(), from: z.string(), to: z.string(), role: chatRole },
  'chat.broadcast': { where: z.string(), text: z.string(), error: z.string().optional() },
};

/** Entry types with more than one shape: a helper's session failing (endpoint) or the channel failing to open (run-command). */
const unionShapes = {
  'helper.failed': [{ id: z.string(), message: z.string() }, { error: z.string() }],
  'chat.refused': [
    { id: z.string(), name: z.string(), role: chatRole, reason: z.literal('name'), tried: z.string() },
    { id: z.string(), name: z.string(), role: chatRole, reason: z.literal('too-fast'), refused: z.number().int() },
  ],
} as const;

const singleShapes = { ...engineShapes, ...revertShapes, ...guardShapes, ...rebootShapes, ...runShapes, ...helperShapes, ...chatShapes };
type SingleShapes = typeof singleShapes;
type UnionShapes = typeof unionShapes;

export type EntryType = keyof SingleShapes | keyof UnionShapes;

/** The fields of an entry of `type`, as the writer gives them (no seq, at, type). */
export type EntryFields<T extends EntryType> = T extends keyof SingleShapes
  ? z.input<z.ZodObject<SingleShapes[T]>>
  : T extends keyof UnionShapes
    ? UnionShapes[T][number] extends infer S
      ? S extends z.ZodRawShape
        ? z.input<z.ZodObject<S>>
        : never
      : never
    : never;

type Head = { seq: number /** ISO time, UTC */; at: string };

/** One entry as read: its fields typed by its type, and whatever else an older or newer writer put in it. */
export type JournalEntry = {
  [T in EntryType]: Head & { type: T } & EntryFields<T> & { readonly [field: string]: unknown };
}[EntryType];

export type JournalEntryOf<T extends EntryType> = Extract<JournalEntry, { type: T }>;

const head = { seq: z.number().int().positive(), at: z.iso.datetime({ offset: true }) };

function schemasOf(object: (shape: z.ZodRawShape) => z.ZodType): Map<string, z.ZodType> {
  const schemas = new Map<string, z.ZodType>();
  for (const [type, shape] of Object.entries(singleShapes)) schemas.set(type, object({ ...head, type: z.literal(type), ...shape }));
  for (const [type, shapes] of Object.entries(unionShapes)) {
    schemas.set(type, z.union(shapes.map((shape) => object({ ...head, type: z.literal(type), ...shape })) as unknown as [z.ZodType, z.ZodType]));
  }
  return schemas;
}

/** For reading: unknown fields are kept (an older or newer writer's), known ones must be as typed. */
const readingSchemas = schemasOf((shape) => z.looseObject(shape));
/** For writing: exactly the fields declared, so a field the schema lacks is caught in the tests. */
const writingSchemas = schemasOf((shape) => z.strictObject(shape));

export const ENTRY_TYPES: readonly EntryType[] = [...readingSchemas.keys()] as EntryType[];

export function isEntryType(type: unknown): type is EntryType {
  return typeof type === 'string' && readingSchemas.has(type);
}

export type EntryCheck = { ok: true; entry: JournalEntry } | { ok: false; unknownType: boolean; type: string; problem: string };

/** Checks one parsed line of a journal: known type, fields as declared (`strict`: and no others). */
export function checkEntry(value: unknown, strict = false): EntryCheck {
  const type = typeof value === 'object' && value !== null && 'type' in value ? (value as { type: unknown }).type : undefined;
  if (typeof type !== 'string') return { ok: false, unknownType: false, type: '(none)', problem: 'it has no entry type' };
  const schema = (strict ? writingSchemas : readingSchemas).get(type);
  if (!schema) return { ok: false, unknownType: true, type, problem: `"${type}" is no entry type this nightshift knows` };
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, entry: parsed.data as JournalEntry };
  return { ok: false, unknownType: false, type, problem: z.prettifyError(parsed.error).replace(/\n\s*/g, '; ') };
}

/** Each variant of an event union (less `type` and `omit`), paired with the entry type it is journaled as (`prefix` + its type). */
type Journaled<Event, Prefix extends string, Omitted extends string = never> = Event extends { type: infer T extends string }
  ? `${Prefix}${T}` extends infer E extends EntryType
    ? [Omit<Event, 'type' | Omitted>, E]
    : [T, 'has no journal entry type']
  : never;
type FitsSchema<P> = P extends [infer F, infer T extends EntryType] ? (F extends EntryFields<T> ? true : [T, 'does not fit its journal schema']) : P;
type AllFit<P> = [FitsSchema<P>] extends [true] ? true : { misfits: Exclude<FitsSchema<P>, true> };

// A compile error below: an event gained or changed a field its journal schema above does not have.
/** The engine's events, journaled less `at` (which the journal writes as text). */
export const ENGINE_EVENTS_FIT: AllFit<Journaled<EngineEmitted, '', 'at'>> = true;
export const REVERT_EVENTS_FIT: AllFit<Journaled<RevertEvent, ''>> = true;
/** The helper endpoint's events, journaled as helper.TYPE. */
export const HELPER_EVENTS_FIT: AllFit<Journaled<HelperEndpointEvent, 'helper.'>> = true;
