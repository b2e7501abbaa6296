// What front-ends show of a rollout (`for_each` phases): each host's standing and the step it
// is at, each batch's state, failures first. Read from the context, never stored twice.
import type { Fleet, Runbook, Step } from '../runbook/types.js';
import type { EngineContext } from './context.js';
import { FAILED_HOST_OUTCOMES, type HostOutcome, type StepStatus } from './events.js';

export interface HostView {
  host: string;
  outcome: HostOutcome;
  /** Index into the fleet's batches. */
  batch: number;
  /** The step it is at: running, waiting, or failed; the last one it did when it ended; null while queued. */
  step: Step | null;
  stepStatus: StepStatus | null;
  startedAt?: number;
  endedAt?: number;
  /** The failed step's error, or why the host failed, fell back or was skipped. */
  error?: string;
  /** Whether it needs the upgrader now: a failed step (or one waiting for a person). */
  waiting: boolean;
}

/** `halted`: the rollout rests at the batch's halt checkpoint; `canary`: at the canary's checkpoint. */
export type BatchState = 'pending' | 'running' | 'done' | 'halted' | 'canary';

export interface BatchView {
  index: number;
  hosts: string[];
  canary: boolean;
  state: BatchState;
  done: number;
  failed: number;
}

export interface FleetView {
  phase: string;
  title: string;
  fleet: Fleet;
  /** The batch in progress (or, once all ended, the batches' count). */
  batch: number;
  batches: BatchView[];
  /** Failures and hosts that wait first, then running, queued, done. */
  hosts: HostView[];
  counts: Record<HostOutcome, number>;
  stopping: boolean;
}

const ORDER: Record<HostOutcome | 'waiting', number> = { waiting: 0, failed: 1, 'fell-back': 2, skipped: 3, running: 4, queued: 5, done: 6 };

/** The rollouts a run has started (and the one about to start, as all queued), in the runbook's order. */
export function fleetViewsOf(context: EngineContext, runbook: Runbook): FleetView[] {
  // The screen asks at every frame and every key; the context changes far less often.
  const known = viewsByContext.get(context);
  if (known?.runbook === runbook) return known.views;
  const views = runbook.phases.flatMap((phase) =>
    phase.fleet && context.fleets?.[phase.name] ? [fleetViewOf(context, phase.name, phase.title, phase.fleet)] : [],
  );
  viewsByContext.set(context, { runbook, views });
  return views;
}

/** The views worked out for a context (never changed in place) and the runbook they were for. */
const viewsByContext = new WeakMap<EngineContext, { runbook: Runbook; views: FleetView[] }>();

export function fleetViewOf(context: EngineContext, phase: string, title: string, fleet: Fleet): FleetView {
  const record = context.fleets?.[phase];
  const batchNow = record?.batch ?? 0;
  const hosts = fleet.hosts.map((host): HostView => {
    const standing = record?.hosts[host];
    const outcome: HostOutcome = standing?.outcome ?? 'queued';
    const batch = standing?.batch ?? fleet.batches.findIndex((members) => members.includes(host));
    const own = fleet.perHost[host]!;
    const steps = [...own.steps, ...own.fallback];
    const focus =
      steps.find((step) => ['running', 'waiting', 'failed'].includes(context.steps[step.id]?.status ?? '')) ??
      [...steps].reverse().find((step) => (context.steps[step.id]?.attempts ?? 0) > 0 || context.steps[step.id]?.status === 'skipped') ??
      null;
    const status = focus ? (context.steps[focus.id]?.status ?? null) : null;
    const error = status === 'failed' ? context.steps[focus!.id]?.error : standing?.reason;
    return {
      host,
      outcome,
      batch,
      step: outcome === 'queued' ? null : focus,
      stepStatus: outcome === 'queued' ? null : status,
      ...(standing?.startedAt !== undefined ? { startedAt: standing.startedAt } : {}),
      ...(standing?.endedAt !== undefined ? { endedAt: standing.endedAt } : {}),
      ...(error !== undefined ? { error } : {}),
      waiting: outcome === 'running' && (status === 'failed' || status === 'waiting'),
    };
  });
  const rank = (view: HostView) => ORDER[view.waiting ? 'waiting' : view.outcome];
  const sorted = hosts.map((view, index) => ({ view, index })).sort((a, b) => rank(a.view) - rank(b.view) || a.index - b.index);
  const counts = { queued: 0, running: 0, done: 0, failed: 0, 'fell-back': 0, skipped: 0 } satisfies Record<HostOutcome, number>;
  for (const view of hosts) counts[view.outcome] += 1;
  const byHost = new Map(hosts.map((view) => [view.host, view]));
  const batches = fleet.batches.map((members, index): BatchView => {
    const views = members.map((host) => byHost.get(host)!);
    const done = views.filter((view) => view.outcome === 'done').length;
    const failed = views.filter((view) => FAILED_HOST_OUTCOMES.includes(view.outcome)).length;
    const ended = done + failed === members.length;
    const halted = context.steps[fleet.halts[index]?.id ?? '']?.status === 'waiting';
    const state: BatchState =
      index < batchNow
        ? 'done'
        : index > batchNow || !record
          ? 'pending'
          : halted
            ? 'halted'
            : ended && fleet.canary && index === 0
              ? 'canary'
              : ended
                ? 'done'
                : 'running';
    return { index, hosts: members, canary: fleet.canary && index === 0, state, done, failed };
  });
  return { phase, title, fleet, batch: batchNow, batches, hosts: sorted.map(({ view }) => view), counts, stopping: record?.stopping !== undefined };
}

/** The host a step was made for, when it belongs to a `for_each` phase. */
export function hostOfStep(step: Step): string | undefined {
  return step.instanceOf?.host;
}
