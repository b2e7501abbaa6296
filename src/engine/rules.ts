// Why the engine would not take a person's action now. One place for these rules: the
// machine's guards and its refusals call the same function, and front-ends ask it (through
// `whyNot`) before offering a key or a reason prompt, so no front-end keeps a copy.
import { allSteps, rolesOf, type Role, type Runbook, type Step } from '../runbook/types.js';
import type { EngineContext } from './context.js';
import { fallbackRefusal, fallbackScopesOf, type FallbackScopes } from './fallback-scope.js';
import { HUMAN_ACTIONS, type ActionQuery, type HumanAction } from './events.js';
import { runsDetached } from './unsettled-attempt.js';
import { approvalProblem } from './confirm-text.js';
import { fleetRefusal } from './fleet-rules.js';
import type { Fleet } from '../runbook/types.js';

/**
 * Where a step rests, as a state tag of the machine: what it waits for or does. Every state
 * a run can rest in carries exactly one of these, so the rules, the view and a resume read
 * the machine's tags instead of the shape of its state value.
 */
export const PLACES = [
  /** A `needs: hands` step, held until someone is on site or the upgrader goes on without them. */
  'held',
  /** A destructive step, waiting for the upgrader to type its text. */
  'approval',
  /** A checkpoint, waiting for its roles to confirm. */
  'confirming',
  /** An effect in flight: a step working, or an attempt followed again. */
  'running',
  /** A failed step, waiting for the upgrader's decision. */
  'failed',
  /** A reboot that did not come back, put to the sentinel. */
  'asking',
  /** Asking a host whether an attempt that may still run has ended, before a retry. */
  'checkingAttempt',
  /** Stopping an attempt that may still run. */
  'stoppingAttempt',
  /** Restored in flight after nightshift stopped: RESUME decides what next. */
  'interrupted',
  /** An interrupted step's check, run before anything else. */
  'checking',
  /** A step's `when:` being decided (host facts gathered when it needs them). */
  'deciding',
  /** A step's check asked first (`skip_done`, `--from`): passing marks it done without running it. */
  'probing',
  /** An edit step's change being worked out against the file on its host. */
  'preparing',
] as const;
export type Place = (typeof PLACES)[number];

/** The step a run rests at and what that step waits for; null when no step is in focus. */
export type Position = { stepId: string; place: Place } | null;

/** What the rules need to know of the runbook, the same for the whole run. */
export interface RuleBook {
  stepOf(stepId: string): Step;
  hasFallback: boolean;
  /** The runbook's fallbacks by scope (its phases' own, and its own). */
  fallbacks: FallbackScopes;
  /** Whether the upgrader may record a confirmation on behalf of another role. */
  relaysAllowed: boolean;
  /** The runbook's `for_each` phases, by name. */
  fleets: Record<string, Fleet>;
  /** The ids of every host's own steps in those phases (its steps and its fallback's). */
  hostSteps: ReadonlySet<string>;
}

export function ruleBookOf(runbook: Runbook, relaysAllowed: boolean): RuleBook {
  const steps = new Map(allSteps(runbook).map((step) => [step.id, step]));
  const fleets: Record<string, Fleet> = Object.fromEntries(runbook.phases.flatMap((phase) => (phase.fleet ? [[phase.name, phase.fleet]] : [])));
  return {
    stepOf: (stepId) => {
      const step = steps.get(stepId);
      if (!step) throw new Error(`unknown step ${stepId}`);
      return step;
    },
    hasFallback: runbook.fallback.length > 0,
    fallbacks: fallbackScopesOf(runbook),
    relaysAllowed,
    fleets,
    hostSteps: new Set(
      Object.values(fleets).flatMap((fleet) => Object.values(fleet.perHost).flatMap((own) => [...own.steps, ...own.fallback].map((step) => step.id))),
    ),
  };
}

const ruleBooks = new WeakMap<Runbook, Map<boolean, RuleBook>>();

/** The rule book of a runbook, made once: front-ends ask the rules for every key they offer, and a rollout's runbook has many steps. */
function cachedRuleBook(runbook: Runbook, relaysAllowed: boolean): RuleBook {
  let books = ruleBooks.get(runbook);
  if (!books) ruleBooks.set(runbook, (books = new Map()));
  let book = books.get(relaysAllowed);
  if (!book) books.set(relaysAllowed, (book = ruleBookOf(runbook, relaysAllowed)));
  return book;
}

/** The facts a rule looks at: the run as it is, and where it rests. */
export interface RuleFacts {
  book: RuleBook;
  context: EngineContext;
  at: Position;
}

/** Actions on the whole run: taken wherever it rests, so they name no step. */
export const RUN_ACTIONS = ['FALLBACK', 'PAUSE', 'SKIP_HOST', 'FALLBACK_HOST', 'STOP_ROLLOUT'] as const satisfies readonly HumanAction[];
export type StepAction = Exclude<HumanAction, (typeof RUN_ACTIONS)[number]>;
/** Actions on the step the run rests at: every other one. */
export const STEP_ACTIONS: readonly StepAction[] = HUMAN_ACTIONS.filter((action): action is StepAction => !isRunAction(action));

export function isRunAction(action: HumanAction): action is (typeof RUN_ACTIONS)[number] {
  return (RUN_ACTIONS as readonly HumanAction[]).includes(action);
}

/** What each action is called in a refusal. */
const NOUNS: Record<HumanAction, string> = {
  CONFIRM: 'confirmation',
  APPROVE: 'approval',
  RETRY: 'retry',
  REATTACH: 'reattach',
  STOP_ATTEMPT: 'stop',
  SKIP: 'skip',
  CANCEL: 'cancel',
  FALLBACK: 'fallback',
  PAUSE: 'pause',
  RESUME: 'resume',
  MARK_DONE: 'mark done',
  OVERRIDE_HOLD: 'override',
  ASK_SITE: 'request to the site',
  SKIP_HOST: 'skip of a host',
  FALLBACK_HOST: 'fallback of a host',
  STOP_ROLLOUT: 'stop of the rollout',
};

/** How a step at `place` is described after "step X". */
const SITUATIONS: Record<Place, string> = {
  held: 'is held for hands on site',
  approval: 'waits for its approval',
  confirming: 'waits for confirmations',
  running: 'is running',
  failed: 'failed and waits for a decision',
  asking: 'waits for the sentinel',
  checkingAttempt: 'is being looked at on its host',
  stoppingAttempt: 'is being stopped on its host',
  interrupted: 'was interrupted and waits to be resumed',
  checking: 'is being checked',
  deciding: 'is being decided (its when: condition)',
  probing: 'is being checked (already done?)',
  preparing: 'is being compared with the file on its host',
};

/** "A reason is needed", said once for every action that takes one. */
export function needsReason(doing: string): string {
  return `${doing} needs a reason`;
}

/** Whether what is typed (a reason, a request) was left blank; a query that leaves it out asks only whether the action is open. */
const lacks = (text: string | undefined): boolean => text !== undefined && text.trim() === '';

/**
 * Why `query` would be refused, or null when the machine takes it. The machine's guard
 * for every person's action and its `refuse` action both call this, so they cannot disagree.
 */
export function refusalOf({ book, context, at }: RuleFacts, query: ActionQuery): string | null {
  switch (query.type) {
    case 'FALLBACK':
      {
        const refusal = fallbackRefusal(book.fallbacks, context);
        if (refusal !== null) return refusal;
      }
      if (lacks(query.reason)) return needsReason('falling back');
      return null;
    case 'PAUSE': {
      // The step in focus first; in a rollout, any host's step at work.
      const inFocus = context.current !== null && context.steps[context.current]?.status === 'running' ? context.current : undefined;
      const running = inFocus ?? Object.entries(context.steps).find(([, record]) => record.status === 'running')?.[0];
      return running !== undefined
        ? `step ${running} is running: suspend the run instead (a detached command goes on on its host), or pause once it has ended`
        : null;
    }
    case 'SKIP_HOST':
    case 'FALLBACK_HOST':
    case 'STOP_ROLLOUT':
      if (query.by.role !== 'upgrader') return 'only the upgrader decides about the rollout';
      return fleetRefusal(book.fleets, context, query);
  }
  const notNow = `${NOUNS[query.type]} is not possible now: ${at ? `step ${at.stepId} ${SITUATIONS[at.place]}` : 'no step waits for it'}`;
  if (at === null) return notNow;
  const { stepId, place } = at;
  if ('stepId' in query && query.stepId !== stepId) {
    return `that ${NOUNS[query.type]} is for step ${query.stepId}, but ${stepId} ${place === 'held' ? 'is held' : place === 'running' ? 'is running' : 'is waiting'}`;
  }
  const step = book.stepOf(stepId);
  const record = context.steps[stepId]!;
  switch (query.type) {
    case 'CONFIRM':
      if (place !== 'confirming' && place !== 'asking') return notNow;
      return confirmationProblem(book, context, stepId, query);
    case 'APPROVE':
      if (place !== 'approval') return notNow;
      if (query.value === undefined) return null;
      return approvalProblem(step, context, query.value);
    case 'RETRY':
      return place === 'failed' || place === 'asking' ? null : notNow;
    case 'SKIP':
      if (place !== 'failed' && place !== 'asking') return notNow;
      return lacks(query.reason) ? needsReason('skipping') : null;
    case 'CANCEL':
      return place === 'running' ? null : notNow;
    case 'RESUME':
      return place === 'interrupted' ? null : notNow;
    case 'REATTACH':
    case 'STOP_ATTEMPT':
      if (place !== 'failed') return notNow;
      if (!runsDetached(step)) return 'only a detached run step can have an attempt that may still be running';
      if (record.mayStillRun === undefined) return 'no attempt of this step may still be running: it ended with its exit status read';
      if (query.type === 'REATTACH' && step.revert !== undefined) {
        return 'a step with revert_after is not followed again (its revert timer decides): stop it, or retry once it has ended';
      }
      return null;
    case 'MARK_DONE':
      if (place !== 'failed') return notNow;
      if (record.interrupted !== true) return 'only a step that was in flight when nightshift stopped can be marked done';
      return lacks(query.reason) ? needsReason('marking a step done') : null;
    case 'OVERRIDE_HOLD':
      if (place !== 'held') return notNow;
      if (query.by.role !== 'upgrader') return 'only the upgrader can go on without hands on site';
      return lacks(query.reason) ? needsReason('going on without hands on site') : null;
    case 'ASK_SITE':
      if (place !== 'failed') return notNow;
      if (step.kind !== 'reboot') return 'only a reboot that did not come back can be put to the site';
      if (query.by.role !== 'upgrader') return 'only the upgrader asks the site';
      return lacks(query.request) ? 'say what the sentinel should do' : null;
  }
}

/** Why a confirmation for `stepId` cannot count, or null when it can. */
export function confirmationProblem(book: RuleBook, context: EngineContext, stepId: string, event: Extract<ActionQuery, { type: 'CONFIRM' }>): string | null {
  if (event.stepId !== stepId) return `that confirmation is for step ${event.stepId}, but ${stepId} is waiting`;
  const step = book.stepOf(stepId);
  const record = context.steps[stepId]!;
  const asked = step.kind !== 'checkpoint' && record.asked !== undefined;
  if (step.kind !== 'checkpoint' && !asked) return 'this step is not a checkpoint';
  const roles = confirmingRoles(book, context, stepId);
  if (!roles.includes(event.role)) return `this ${asked ? 'request' : 'checkpoint'} is for the ${roles.join(' and the ')}, not the ${event.role}`;
  if (event.by.role === 'observer') return `an observer only watches: only the ${event.role} can confirm for the ${event.role}`;
  if (event.by.role !== event.role && !(book.relaysAllowed && event.by.role === 'upgrader')) {
    return `only the ${event.role} can confirm for the ${event.role}`;
  }
  if (asked) return null;
  if (record.confirmations.some((c) => c.role === event.role)) return `the ${event.role} has already confirmed`;
  if (step.kind === 'checkpoint' && step.confirmText !== undefined && (event.value ?? '').trim() !== step.confirmText) {
    return `the typed text does not match "${step.confirmText}"`;
  }
  return null;
}

/** Who confirms a step: a checkpoint's roles, or the sentinel for a step they were asked about. */
export function confirmingRoles(book: RuleBook, context: EngineContext, stepId: string): Role[] {
  const step = book.stepOf(stepId);
  if (step.kind === 'checkpoint') return rolesOf(step.by);
  return context.steps[stepId]!.asked !== undefined ? ['sentinel'] : [];
}

/** The roles whose confirmation a step still waits for. */
export function pendingRoles(book: RuleBook, context: EngineContext, stepId: string): Role[] {
  if (book.stepOf(stepId).kind !== 'checkpoint') return confirmingRoles(book, context, stepId);
  const confirmed = new Set(context.steps[stepId]!.confirmations.map((c) => c.role));
  return confirmingRoles(book, context, stepId).filter((role) => !confirmed.has(role));
}

/**
 * What the rules read of a machine snapshot (a RunbookSnapshot is one): named here rather
 * than imported, so that the rules do not import the machine built from them.
 */
export interface RestingSnapshot {
  status: string;
  context: EngineContext;
  hasTag(tag: Place): boolean;
  getMeta(): Record<string, { stepId?: string } | undefined>;
  machine: { root: { meta?: { relaysAllowed?: boolean } } };
  /** XState's active state nodes (internal to it, but the only way to pair a tag with its step when several steps rest at once). */
  _nodes?: readonly unknown[];
}

interface ActiveNode {
  tags: readonly string[];
  meta?: { stepId?: string };
  parent?: ActiveNode;
}

/** Every place a step rests at: one, or one per host at work in a `for_each` phase's batch. */
export function positionsOf(snapshot: RestingSnapshot): Array<{ stepId: string; place: Place }> {
  if (snapshot.status !== 'active') return [];
  if (!snapshot._nodes) {
    const single = singlePosition(snapshot);
    return single ? [single] : [];
  }
  // Asked at every frame, key and rule check; a snapshot never changes.
  const known = positionsBySnapshot.get(snapshot);
  if (known) return known;
  const positions: Array<{ stepId: string; place: Place }> = [];
  const seen = new Set<string>();
  for (const node of snapshot._nodes as readonly ActiveNode[]) {
    const place = PLACES.find((tag) => node.tags.includes(tag));
    if (place === undefined) continue;
    let owner: ActiveNode | undefined = node;
    while (owner && owner.meta?.stepId === undefined) owner = owner.parent;
    const stepId = owner?.meta?.stepId;
    if (stepId !== undefined && !seen.has(stepId)) {
      seen.add(stepId);
      positions.push({ stepId, place });
    }
  }
  positionsBySnapshot.set(snapshot, positions);
  return positions;
}

const positionsBySnapshot = new WeakMap<RestingSnapshot, Array<{ stepId: string; place: Place }>>();

/**
 * Where a person's action that no state took is refused, as a step's states would have: at
 * the resting step it names; else at a step resting outside a `for_each` batch, which
 * answers every action; else, unless it names another host's step, at the host's step in
 * focus; else nowhere.
 */
export function restingFor(snapshot: RestingSnapshot, event: object, hostSteps: ReadonlySet<string>): Position {
  const positions = positionsOf(snapshot);
  const named = 'stepId' in event && typeof event.stepId === 'string' ? event.stepId : undefined;
  return (
    positions.find((position) => position.stepId === named) ??
    positions.find((position) => !hostSteps.has(position.stepId)) ??
    (named !== undefined && hostSteps.has(named) ? undefined : positions.find((position) => position.stepId === snapshot.context.current)) ??
    null
  );
}

/** Places where a person is awaited, before places where nightshift works. */
const AWAITING: readonly Place[] = ['failed', 'approval', 'confirming', 'asking', 'held', 'interrupted'];

/**
 * Where `snapshot` rests, read from its state's tag and the meta of its step's state. While
 * several steps rest at once (hosts of a batch), the one in focus (the context's `current`),
 * else one that waits for a person.
 */
export function positionOf(snapshot: RestingSnapshot): Position {
  const positions = positionsOf(snapshot);
  if (positions.length <= 1) return positions[0] ?? null;
  return (
    positions.find((position) => position.stepId === snapshot.context.current) ??
    positions.find((position) => AWAITING.includes(position.place)) ??
    positions[0]!
  );
}

function singlePosition(snapshot: RestingSnapshot): Position {
  const place = PLACES.find((tag) => snapshot.hasTag(tag));
  const stepId = Object.values(snapshot.getMeta()).find((meta) => meta?.stepId !== undefined)?.stepId;
  return place !== undefined && stepId !== undefined ? { stepId, place } : null;
}

/**
 * Why `query` would be refused in `snapshot`, or null when the engine would take it: the
 * rules the machine's guards ask. A query that leaves its reason out asks only whether the
 * action is open.
 */
export function whyNot(snapshot: RestingSnapshot, runbook: Runbook, query: ActionQuery): string | null {
  if (snapshot.status !== 'active') return 'the run has ended';
  const relaysAllowed = snapshot.machine.root.meta?.relaysAllowed === true;
  return refusalOf({ book: cachedRuleBook(runbook, relaysAllowed), context: snapshot.context, at: positionOf(snapshot) }, query);
}
