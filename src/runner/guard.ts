// A guard's steps on its hosts (runbook `guard:`): arm a revert on each before the block,
// commit them from new connections after it, or fire them at once when the block falls back.
// The reverts are revert_after's (revert-scripts.ts): armed on the host, they run there by
// themselves at the deadline, whether or not nightshift can still reach it.
import type { StepOutput } from '../output/step-output.js';
import { armScript, describeTimer, disarmScript, extendScript, fireNowScript, revertStatusScript, type RevertStatus } from '../remote/revert-scripts.js';
import { describeWriteFailure } from '../remote/host-shell.js';
import { formatDuration } from '../runbook/duration.js';
import type { GuardPlan, GuardRevert, GuardStep, Runbook, Site, SpareAccess } from '../runbook/types.js';
import { bothSitesToTheSecond } from '../text/clock.js';
import { isAbort, sleep } from './abortable.js';
import type { RemoteHosts } from './remote-hosts.js';
import { hostsBecomingEach } from './become-hosts.js';
import { REVERT_GRACE_MS, armFailure, statusOf } from './revert.js';
import { type SpareStopped, spareNames, startSpare, stopSpare } from './spare-access.js';

/** How long a firing waits on the host for the revert to end before it follows it up. */
const FIRE_WAIT_SECONDS = 5;
/** How long a firing tries to reach a host before it tells the upgrader and waits for the host's own timer. */
const FIRE_REACH_MS = 10_000;
/** Bound on one attempt to reach a host (login and script). */
const ATTEMPT_MS = 20_000;
const RETRY_PAUSE_MS = 2000;
/** What `+` adds to a guard's deadline. */
export const GUARD_EXTENSION_MS = 5 * 60_000;

/** What the journal records of a guard, host by host. */
export type GuardEvent =
  | { type: 'guard.armed'; guard: string; host: string; how: string; deadline: number; afterMs: number }
  | { type: 'guard.extended'; guard: string; host: string; deadline: number }
  | { type: 'guard.committed'; guard: string; host: string }
  /** `by`: nightshift fired it, or the host's own timer did at the deadline. */
  | { type: 'guard.fired'; guard: string; host: string; by: 'nightshift' | 'deadline'; firedAt?: number; exitCode: number | null }
  /** A spare way in (`spare_access`) proved to work, and stopped again (`through`: by another name of the machine, one of its `also`). */
  | { type: 'guard.spare-up'; guard: string; host: string; port: number; server: string }
  | { type: 'guard.spare-stopped'; guard: string; host: string; through?: string };

export type GuardHostState = 'armed' | 'committed' | 'fired';

/** A guard as the screen shows it: each host's deadline and state. */
export interface GuardShown {
  id: string;
  hosts: Array<{ host: string; deadline: number; state: GuardHostState }>;
}

/** The runbook's guards, each once. */
export function guardsOf(runbook: Runbook): GuardPlan[] {
  return [...new Set(runbook.phases.flatMap((phase) => (phase.guard ? [phase.guard] : [])))];
}

/** The guard entries of a journal, in order (a resumed run's keeper starts from them). */
export function guardEventsOf(entries: ReadonlyArray<{ type: string }>): GuardEvent[] {
  return entries.filter((entry): entry is GuardEvent => entry.type.startsWith('guard.'));
}

/** Per host too: two names of one machine get a revert each. */
export function guardRunId(sessionId: string, guard: string, host: string): string {
  return `${sessionId}/${guard}.${host}.guard`;
}

function guardUnit(sessionId: string, guard: string, host: string): string {
  return `nightshift-guard-${sessionId}-${guard}-${host}`.replace(/[^A-Za-z0-9:_-]/g, '-');
}

/**
 * The guards of a run and where they stand, for the screen and for `+`. Restored from the
 * journal after a resume; what the hosts say wins over it whenever they are asked.
 */
export class GuardKeeper {
  private readonly guards = new Map<string, GuardShown>();
  /** Spare ways in that are up, by host: started by a guard, stopped after its commit or at the run's end. */
  private readonly spares = new Map<string, { guard: string; port: number }>();
  /** The screen's: told of every change. */
  private readonly listeners = new Set<() => void>();
  /** The chat's: given every event. */
  private readonly eventListeners = new Set<(event: GuardEvent) => void>();
  private version = 0;

  private readonly hosts: RemoteHosts;

  constructor(
    hosts: RemoteHosts,
    private readonly sessionId: string,
    private readonly onEvent: (event: GuardEvent) => void,
    /** The runbook's guards. */
    private readonly plans: readonly GuardPlan[] = [],
  ) {
    this.hosts = guardHosts(hosts, plans);
  }

  /**
   * Why a step of a guard's block must not act: the guard is armed and a host's deadline has
   * passed, so that host has reverted by itself (a resume after a long pause); null otherwise.
   * The fallbacks are not the block: they act, to undo it.
   */
  expiredFor(stepId: string, now = Date.now()): string | null {
    const plan = this.plans.find((candidate) => candidate.steps.includes(stepId));
    const hosts = plan ? (this.guards.get(plan.id)?.hosts ?? []) : [];
    const late = plan?.reverts.filter(({ host }) => hosts.some((entry) => entry.host === host && entry.state === 'armed' && entry.deadline <= now)) ?? [];
    if (late.length === 0) return null;
    return `the guard's deadline has passed on ${late.map((revert) => revert.host).join(', ')}: the revert ran there by itself, so nothing more of the block is done`;
  }

  /** The journal's account of the guards so far (a resumed session). */
  restore(events: readonly GuardEvent[]): void {
    for (const event of events) this.apply(event);
  }

  record(event: GuardEvent): void {
    this.apply(event);
    this.onEvent(event);
    for (const listener of this.eventListeners) listener(event);
  }

  /** Every guard event as it is recorded (the chat says them); returns the unsubscribe. */
  onGuardEvent(listener: (event: GuardEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private apply(event: GuardEvent): void {
    if (event.type === 'guard.spare-up' || event.type === 'guard.spare-stopped') {
      if (event.type === 'guard.spare-up') this.spares.set(event.host, { guard: event.guard, port: event.port });
      else this.spares.delete(event.host);
      // A resumed run logs in through them again where the main port does not answer, by every name of the machine.
      for (const name of spareNames(event.host, this.spareOf(event.guard, event.host)))
        this.hosts.setSpare?.(name, event.type === 'guard.spare-up' ? event.port : null);
      return;
    }
    const guard = this.guards.get(event.guard) ?? { id: event.guard, hosts: [] };
    this.guards.set(event.guard, guard);
    const known = guard.hosts.find((entry) => entry.host === event.host);
    const entry = known ?? { host: event.host, deadline: 0, state: 'armed' as GuardHostState };
    if (!known) guard.hosts.push(entry);
    if (event.type === 'guard.armed' || event.type === 'guard.extended') {
      entry.deadline = event.deadline;
      if (event.type === 'guard.armed') entry.state = 'armed';
    } else entry.state = event.type === 'guard.committed' ? 'committed' : 'fired';
    this.version += 1;
    for (const listener of this.listeners) listener();
  }

  /** The guard with a host still armed (one at a time: guards do not overlap), or null. */
  active(): GuardShown | null {
    for (const guard of this.guards.values()) if (guard.hosts.some((entry) => entry.state === 'armed')) return guard;
    return null;
  }

  deadlineOf(guard: string, host: string): number | undefined {
    return this.guards.get(guard)?.hosts.find((entry) => entry.host === host)?.deadline;
  }

  stateOf(guard: string, host: string): GuardHostState | undefined {
    return this.guards.get(guard)?.hosts.find((entry) => entry.host === host)?.state;
  }

  /** A number that changes with every change (for the screen's store). */
  changes(): number {
    return this.version;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A script on the machine a guard's host names, by each of its names in turn (the first where the folder is). */
  private async onMachine(guard: string, host: string, script: string): Promise<RevertStatus> {
    const revert = this.plans.find((plan) => plan.id === guard)?.reverts.find((candidate) => candidate.host === host);
    let found: RevertStatus | undefined;
    let last: unknown;
    for (const name of revert ? namesOf(revert) : [host]) {
      try {
        found = await statusOf((handlers) => this.hosts.exec(name, script, { ...handlers, signal: AbortSignal.timeout(ATTEMPT_MS) }));
        if (found.state !== 'missing') return found;
      } catch (error) {
        last = error;
      }
    }
    if (found) return found;
    throw last;
  }

  /** The spare ways in this guard started that are still up. */
  sparesOf(guard: string): string[] {
    return [...this.spares].filter(([, spare]) => spare.guard === guard).map(([host]) => host);
  }

  /** The runbook's spare_access of a guard's host. */
  private spareOf(guard: string, host: string): SpareAccess | undefined {
    return this.plans.find((plan) => plan.id === guard)?.reverts.find((revert) => revert.host === host)?.spare;
  }

  /**
   * Stops the spare ways in still up (a guard committed, or the run ended), each through the
   * first of its host and its `also` that answers and has it; says which were stopped, and
   * what could not be.
   */
  async stopSpares(hosts: readonly string[] = [...this.spares.keys()]): Promise<{ stopped: Array<{ host: string } & SpareStopped>; problems: string[] }> {
    const results = await Promise.all(
      hosts.map(async (host) => {
        const spare = this.spares.get(host);
        if (!spare) return null;
        try {
          const stopped = await stopSpare(this.hosts, host, this.sessionId, this.spareOf(spare.guard, host));
          this.record({ type: 'guard.spare-stopped', guard: spare.guard, host, ...(stopped.through !== host ? { through: stopped.through } : {}) });
          return { host, ...stopped };
        } catch (error) {
          return `${(error as Error).message}; it stops by itself after its lifetime`;
        }
      }),
    );
    return {
      stopped: results.filter((result): result is { host: string } & SpareStopped => typeof result === 'object' && result !== null),
      problems: results.filter((result): result is string => typeof result === 'string'),
    };
  }

  /** `+`: moves the active guard's deadline later on every host still armed; says what became of it. */
  async extend(byMs = GUARD_EXTENSION_MS): Promise<string> {
    const guard = this.active();
    if (!guard) return 'no guard is armed';
    const armed = guard.hosts.filter((entry) => entry.state === 'armed');
    const results = await Promise.all(
      armed.map(async ({ host }) => {
        try {
          const script = extendScript(
            guardRunId(this.sessionId, guard.id, host),
            guardUnit(this.sessionId, guard.id, host),
            Math.round(byMs / 1000),
            this.hosts.runDirOf?.(host),
          );
          const status = await this.onMachine(guard.id, host, script);
          if (status.state !== 'armed' || status.secondsLeft === null) return `${host}: not moved, its revert is ${status.state}`;
          const deadline = Date.now() + status.secondsLeft * 1000;
          this.record({ type: 'guard.extended', guard: guard.id, host, deadline });
          return null;
        } catch (error) {
          return `${host}: not moved (${(error as Error).message})`;
        }
      }),
    );
    const failed = results.filter((result): result is string => result !== null);
    const moved = armed.length - failed.length;
    const said =
      moved > 0
        ? `the guard's deadline moved ${formatDuration(byMs)} later on ${moved === armed.length ? 'every host' : `${moved} of ${armed.length} hosts`}`
        : 'the deadline did not move';
    return failed.length > 0 ? `${said}; ${failed.join('; ')}` : said;
  }
}

export interface GuardContext {
  hosts: RemoteHosts;
  keeper: GuardKeeper;
  output: StepOutput;
  sessionId: string;
  signal: AbortSignal;
  sites: { upgrader: Site; site: Site };
  /** For tests: how long past the deadline a firing waits for a host nobody reached (default REVERT_GRACE_MS). */
  graceMs?: number;
}

/** The hosts as a guard's scripts reach them: through sudo where the host says `become: sudo`. */
export function guardHosts(hosts: RemoteHosts, plans: readonly GuardPlan[]): RemoteHosts {
  // A spare's other names after the revert's: a name that is a guard's host of its own keeps its own.
  const becomes = new Map(
    plans.flatMap((plan) => [
      ...plan.reverts.flatMap((revert) => (revert.spare?.also ?? []).map((name) => [name, revert.become] as const)),
      ...plan.reverts.flatMap((revert) => namesOf(revert).map((name) => [name, revert.become] as const)),
    ]),
  );
  return hostsBecomingEach(hosts, (host) => becomes.get(host));
}

export function runGuardStep(step: GuardStep, given: GuardContext): Promise<void> {
  const context = { ...given, hosts: guardHosts(given.hosts, [step.guard]) };
  switch (step.action) {
    case 'arm':
      return armGuard(step.guard, context);
    case 'commit':
      return commitGuard(step.guard, context);
    case 'fire':
      return fireGuard(step.guard, context);
  }
}

function clocksOf(context: GuardContext): (at: number) => string {
  return (at) => bothSitesToTheSecond(context.sites, at);
}

async function armGuard(guard: GuardPlan, context: GuardContext): Promise<void> {
  const { hosts, output, signal, keeper, sessionId } = context;
  const clocks = clocksOf(context);
  const seconds = Math.ceil(guard.afterMs / 1000);
  const results = await Promise.allSettled(
    guard.reverts.map(async ({ host, command, spare }) => {
      if (spare) {
        const started = await startSpare(hosts, host, spare, sessionId, signal).catch((error: unknown) => {
          if (isAbort(error)) throw error;
          throw new Error(`${host}: ${(error as Error).message}`);
        });
        keeper.record({ type: 'guard.spare-up', guard: guard.id, host, port: spare.port, server: started.server });
        const others = spare.also && spare.also.length > 0 ? `, and so do those to ${spare.also.join(', ')} once the block moved the addresses` : '';
        output.note(
          `nightshift: ${host}: a spare way in is up on port ${spare.port} (${started.server}${started.again ? ', started before' : ''}): ` +
            `a login went through it over a new connection; logins go there whenever the main port does not answer${others}; it stops by itself after ${formatDuration(spare.lifetimeMs)}`,
        );
      }
      const sentAt = Date.now();
      const script = armScript({
        runId: guardRunId(sessionId, guard.id, host),
        unit: guardUnit(sessionId, guard.id, host),
        seconds,
        revert: command,
        ...runDirOf(hosts, host),
      });
      const armed = await statusOf((handlers) => hosts.exec(host, script, { ...handlers, signal }), armFailure).catch((error: unknown) => {
        if (isAbort(error)) throw error;
        throw new Error(`${host}: ${(error as Error).message}`);
      });
      // Armed before, by an earlier attempt of this step: only a revert still waiting counts.
      if (armed.state !== 'armed') throw new Error(`${host}: its revert was ${armed.state} already, by an earlier attempt`);
      const deadline = sentAt + Math.min(seconds, armed.secondsLeft ?? seconds) * 1000;
      keeper.record({ type: 'guard.armed', guard: guard.id, host, how: armed.how, deadline, afterMs: guard.afterMs });
      output.note(`nightshift: ${host}: armed with ${describeTimer(armed.how)}; unless committed, it runs by itself at ${clocks(deadline)}: ${command}`);
    }),
  );
  signal.throwIfAborted();
  const failed = results.flatMap((result) => (result.status === 'rejected' ? [(result.reason as Error).message] : []));
  if (failed.length > 0) {
    throw new Error(
      `the guard could not be armed everywhere, so nothing it guards was started: ${failed.join('; ')}. Falling back fires it where it was armed`,
    );
  }
  output.note(
    `nightshift: the guard is armed on ${guard.reverts.length === 1 ? guard.reverts[0]!.host : `all ${guard.reverts.length} hosts`}: + on the screen (extend at a plain prompt) adds ${formatDuration(GUARD_EXTENSION_MS)} to its deadline`,
  );
}

/**
 * Disarms every host's revert from a new connection: only a host that still takes new logins
 * keeps the block's changes. The states are read first, so that a host whose revert already
 * ran leaves the others armed for the fallback rather than half committed.
 */
async function commitGuard(guard: GuardPlan, context: GuardContext): Promise<void> {
  const { hosts, output, signal, keeper, sessionId } = context;
  const runId = (host: string) => guardRunId(sessionId, guard.id, host);
  const read = await Promise.all(
    guard.reverts.map(async (revert) => {
      const { host } = revert;
      const until = keeper.deadlineOf(guard.id, host) ?? Date.now() + ATTEMPT_MS;
      try {
        const found = await untilAnswered(context, namesOf(revert), revertStatusScript(runId(host), false, hosts.runDirOf?.(host)), until);
        return { host, ...found };
      } catch (error) {
        if (isAbort(error)) throw error;
        return { host, error: (error as Error).message };
      }
    }),
  );
  const problems = read.flatMap((found) => {
    if ('error' in found) return [`no new connection reached ${found.host} before its deadline (${found.error})`];
    if (found.status.state === 'fired') {
      keeper.record({ type: 'guard.fired', guard: guard.id, host: found.host, by: 'deadline', exitCode: found.status.exitCode ?? null });
      return [`${found.host} reverted by itself: its deadline passed`];
    }
    if (found.status.state === 'missing') return [`${found.host} has no armed revert to commit`];
    return [];
  });
  if (problems.length > 0) throw new Error(`the guard cannot be committed: ${problems.join('; ')}. Falling back fires it on the hosts still armed`);
  for (const found of read) {
    if ('error' in found) continue;
    const { host, name } = found;
    const { status } = await untilAnswered(
      context,
      [name],
      disarmScript(runId(host), hosts.runDirOf?.(host)),
      keeper.deadlineOf(guard.id, host) ?? Date.now() + ATTEMPT_MS,
    );
    if (status.state !== 'disarmed') {
      if (status.state === 'fired') keeper.record({ type: 'guard.fired', guard: guard.id, host, by: 'deadline', exitCode: status.exitCode ?? null });
      throw new Error(`the guard cannot be committed: ${host}'s revert is ${status.state}. Falling back fires it on every host, the committed ones too`);
    }
    keeper.record({ type: 'guard.committed', guard: guard.id, host });
    output.note(`nightshift: ${host}${name !== host ? ` (now ${name})` : ''} answered a new connection: its revert is disarmed and the changes stay`);
  }
  signal.throwIfAborted();
  const spares = keeper.sparesOf(guard.id);
  if (spares.length === 0) return;
  const { stopped, problems: unstopped } = await keeper.stopSpares(spares);
  const found = stopped.filter((spare) => spare.found);
  const byOthers = found.filter((spare) => spare.through !== spare.host).map((spare) => `${spare.host}'s through ${spare.through}`);
  if (found.length > 0) {
    output.note(
      `nightshift: the spare way${found.length === 1 ? '' : 's'} in stopped${byOthers.length > 0 ? ` (${byOthers.join(', ')})` : ''}, sessions through ${found.length === 1 ? 'it' : 'them'} going on`,
    );
  }
  for (const spare of stopped.filter((candidate) => !candidate.found)) {
    output.note(`nightshift: ${spare.host}: its spare way in was not found on the machine any more, nothing to stop`);
  }
  for (const problem of unstopped) output.note(`nightshift: ${problem}`);
}

/**
 * Runs every host's revert now; a host that cannot be reached is waited for until its own
 * timer has run the revert (its deadline and a grace), then asked how that went.
 */
async function fireGuard(guard: GuardPlan, context: GuardContext): Promise<void> {
  const { hosts, output, keeper, sessionId } = context;
  const clocks = clocksOf(context);
  const results = await Promise.allSettled(
    guard.reverts.map(async (revert) => {
      const { host } = revert;
      const names = namesOf(revert);
      const runId = guardRunId(sessionId, guard.id, host);
      const runDir = hosts.runDirOf?.(host);
      const deadline = keeper.deadlineOf(guard.id, host);
      let status: RevertStatus;
      let by: 'nightshift' | 'deadline' = 'nightshift';
      try {
        status = await fireNow(context, names, fireNowScript(runId, FIRE_WAIT_SECONDS, runDir));
      } catch (error) {
        if (context.signal.aborted) throw error;
        const until = (deadline ?? Date.now()) + (context.graceMs ?? REVERT_GRACE_MS);
        const why = isAbort(error) ? `no answer in ${formatDuration(FIRE_REACH_MS)}` : (error as Error).message;
        output.note(
          `nightshift: ${host} cannot be reached (${why}); its revert runs there by itself` +
            `${deadline !== undefined ? ` at ${clocks(deadline)}` : ''}: waiting for it to answer until ${clocks(until)}`,
        );
        status = await untilFired(context, names, revertStatusScript(runId, true, runDir), until).catch((late: unknown) => {
          if (isAbort(late)) throw late;
          throw new Error(
            `${host} did not answer by ${clocks(until)} (${(late as Error).message}); whether its revert ran cannot be told: look on the machine`,
          );
        });
        by = 'deadline';
      }
      if (status.state === 'fired' && status.exitCode === undefined) {
        status = await untilFired(context, names, revertStatusScript(runId, true, runDir), Date.now() + (context.graceMs ?? REVERT_GRACE_MS));
      }
      if (status.state === 'missing') {
        output.note(`nightshift: ${host}: nothing was armed there, nothing to revert`);
        return;
      }
      if (status.state !== 'fired' || status.exitCode === undefined) throw new Error(`${host}: its revert is ${status.state}, not seen to end`);
      if (status.firedAt !== undefined && deadline !== undefined && status.firedAt * 1000 >= deadline - 1000) by = 'deadline';
      // A failed commit may have read the firing already: the journal tells it once.
      if (keeper.stateOf(guard.id, host) !== 'fired')
        keeper.record({
          type: 'guard.fired',
          guard: guard.id,
          host,
          by,
          ...(status.firedAt !== undefined ? { firedAt: status.firedAt * 1000 } : {}),
          exitCode: status.exitCode,
        });
      for (const line of (status.output ?? '').trimEnd().split('\n').filter(Boolean)) output.note(`${host} revert| ${line}`);
      if (status.outputCut !== undefined) output.note(`nightshift: ${host} could not keep all its revert printed (${describeWriteFailure(status.outputCut)})`);
      const when = status.firedAt !== undefined ? ` at ${clocks(status.firedAt * 1000)}` : '';
      output.note(`nightshift: ${host}: the revert ran${when}${by === 'deadline' ? ' by itself, at its deadline' : ''} and exited ${status.exitCode}`);
      if (status.exitCode !== 0) throw new Error(`${host}: the revert exited ${status.exitCode}`);
    }),
  );
  context.signal.throwIfAborted();
  const failed = results.flatMap((result) => (result.status === 'rejected' ? [(result.reason as Error).message] : []));
  if (failed.length > 0) throw new Error(`the guard did not revert everywhere: ${failed.join('; ')}; look on the machines`);
}

/**
 * The firing's one try, by each name in turn: over the link there is, else a new login, each
 * bounded so that a machine cut off is said soon. Throws when no name answered and none said
 * the guard's folder is missing there.
 */
async function fireNow(context: GuardContext, names: string[], script: string): Promise<RevertStatus> {
  const { hosts } = context;
  let missing: RevertStatus | undefined;
  let last: unknown;
  for (const name of names) {
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(FIRE_REACH_MS + FIRE_WAIT_SECONDS * 1000)]);
    try {
      const status = await statusOf((handlers) =>
        hosts.states()[name]?.state === 'connected'
          ? hosts.exec(name, script, { ...handlers, signal })
          : hosts.execOnNewConnection(name, script, { ...handlers, signal, readyTimeoutMs: FIRE_REACH_MS }),
      );
      if (status.state !== 'missing') return status;
      missing ??= status;
    } catch (error) {
      if (context.signal.aborted) throw error;
      last = error;
    }
  }
  if (missing && last === undefined) return missing;
  throw last ?? new Error('no name of the machine answered');
}

function runDirOf(hosts: RemoteHosts, host: string): { runDir?: string } {
  const runDir = hosts.runDirOf?.(host);
  return runDir !== undefined ? { runDir } : {};
}

/** A runbook host's names for one machine: its own, then those that reach it once the block moved its addresses. */
function namesOf(revert: GuardRevert): string[] {
  return [revert.host, ...(revert.also ?? [])];
}

/**
 * A script over a new connection to the machine, by each of its names in turn, tried again
 * until it answers or `until` passes: the first name where the guard's folder is (not
 * `missing`) is the machine; `missing` only when every name that answered said so.
 */
async function untilAnswered(context: GuardContext, names: string[], script: string, until: number): Promise<{ name: string; status: RevertStatus }> {
  let last = 'no attempt was made';
  // The first round is tried even past `until`: a host asked late may still answer what it did.
  let round = 0;
  do {
    let missing: { name: string; status: RevertStatus } | undefined;
    let unanswered = false;
    for (const name of names) {
      const left = round === 0 ? ATTEMPT_MS : Math.min(until - Date.now(), ATTEMPT_MS);
      if (left <= 0) break;
      const bounded = AbortSignal.any([context.signal, AbortSignal.timeout(left)]);
      try {
        const status = await statusOf((handlers) => context.hosts.execOnNewConnection(name, script, { ...handlers, signal: bounded, readyTimeoutMs: left }));
        if (status.state !== 'missing') return { name, status };
        missing ??= { name, status };
      } catch (error) {
        if (context.signal.aborted) throw error;
        unanswered = true;
        last = `${name}: ${isAbort(error) ? 'no answer in time' : (error as Error).message}`;
      }
    }
    // Missing where it answered, and nowhere else to look.
    if (missing && !unanswered) return missing;
    round += 1;
    await sleep(Math.min(RETRY_PAUSE_MS, Math.max(0, until - Date.now())), context.signal);
  } while (Date.now() < until);
  throw new Error(last);
}

/** Asks until the revert is seen to have run (or `until` passes). */
async function untilFired(context: GuardContext, names: string[], script: string, until: number): Promise<RevertStatus> {
  for (;;) {
    const { status } = await untilAnswered(context, names, script, until);
    if (status.state !== 'armed' && (status.state !== 'fired' || status.exitCode !== undefined)) return status;
    if (Date.now() >= until) return status;
    await sleep(RETRY_PAUSE_MS, context.signal);
  }
}
