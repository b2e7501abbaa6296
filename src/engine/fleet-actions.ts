// A rollout's record in the context (engine/context.ts FleetRecord) and what it tells the
// world: batches and hosts starting and ending, halts, and the upgrader's decisions about
// one host or the whole rollout.
import { enqueueActions } from 'xstate';
import type { Fleet } from '../runbook/types.js';
import type { EngineContext, FleetRecord, HostRecord } from './context.js';
import { FAILED_HOST_OUTCOMES, NIGHTSHIFT, type Actor, type EngineEmitted, type EngineEvent, type HostOutcome } from './events.js';
import { failedStepOf, waitingFleetStep } from './fleet-rules.js';

type Args = { context: EngineContext; event: EngineEvent };
type HostEnd = Exclude<HostOutcome, 'queued' | 'running'>;

function act<P extends Record<string, unknown>>(
  collect: Parameters<typeof enqueueActions<EngineContext, EngineEvent, P, EngineEvent, never, never, never, never, EngineEmitted>>[0],
) {
  return enqueueActions<EngineContext, EngineEvent, P, EngineEvent, never, never, never, never, EngineEmitted>(collect);
}

const actorOf = (event: EngineEvent): Actor => ('by' in event ? event.by : NIGHTSHIFT);
const reasonOf = (event: EngineEvent): string | undefined => ('reason' in event && typeof event.reason === 'string' ? event.reason.trim() : undefined);

function withFleet(context: EngineContext, phase: string, change: (record: FleetRecord) => FleetRecord): Record<string, FleetRecord> {
  return { ...context.fleets, [phase]: change(context.fleets![phase]!) };
}
function withHost(context: EngineContext, phase: string, host: string, patch: Partial<HostRecord>): Record<string, FleetRecord> {
  return withFleet(context, phase, (record) => ({ ...record, hosts: { ...record.hosts, [host]: { ...record.hosts[host]!, ...patch } } }));
}
export function failedHosts(record: FleetRecord): string[] {
  return Object.entries(record.hosts)
    .filter(([, host]) => FAILED_HOST_OUTCOMES.includes(host.outcome))
    .map(([name]) => name);
}

/** Failed hosts not yet gone on past at a halt. */
function newlyFailed(record: FleetRecord): string[] {
  return failedHosts(record).filter((host) => !(record.accepted ?? []).includes(host));
}

interface Slots {
  /** Hosts at work, not waiting at a batch's checkpoint. */
  running: number;
  /** Per host: how many hosts of its batch before it (in the group's order) wait for a slot too. */
  waitingBefore: Map<string, number>;
}

/**
 * Worked out once per version of a rollout's hosts record (the context's records are never
 * changed in place): every queued host asks at every step of the machine whether a slot is
 * free, which would be hosts x hosts work per step with 200 hosts.
 */
const slotsByRecord = new WeakMap<FleetRecord['hosts'], Slots>();

function slotsOf(hosts: FleetRecord['hosts'], fleet: Fleet): Slots {
  const known = slotsByRecord.get(hosts);
  if (known) return known;
  let running = 0;
  for (const standing of Object.values(hosts)) if (standing.outcome === 'running' && standing.parked !== true) running += 1;
  const waitingBefore = new Map<string, number>();
  const waitingInBatch = new Map<number | undefined, number>();
  for (const name of fleet.hosts) {
    const standing = hosts[name];
    const batch = standing?.batch;
    const before = waitingInBatch.get(batch) ?? 0;
    waitingBefore.set(name, before);
    const waiting = standing?.outcome === 'queued' || (standing?.outcome === 'running' && standing.parked === true);
    if (waiting) waitingInBatch.set(batch, before + 1);
  }
  const slots = { running, waitingBefore };
  slotsByRecord.set(hosts, slots);
  return slots;
}

export function fleetActions(fleets: Record<string, Fleet>) {
  const fleetOf = (phase: string) => fleets[phase]!;
  return {
    startFleet: act<{ phase: string }>(({ context, enqueue }, { phase }) => {
      if (context.fleets?.[phase]) return;
      const fleet = fleetOf(phase);
      const hosts = Object.fromEntries(
        fleet.batches.flatMap((members, batch) => members.map((host): [string, HostRecord] => [host, { outcome: 'queued', batch }])),
      );
      enqueue.assign({ fleets: { ...context.fleets, [phase]: { batch: 0, hosts } } });
    }),
    startBatch: act<{ phase: string; batch: number }>(({ context, enqueue }, { phase, batch }) => {
      const fleet = fleetOf(phase);
      enqueue.assign({ fleets: withFleet(context, phase, (record) => ({ ...record, batch })) });
      enqueue.emit({ type: 'batch.started', phase, batch: batch + 1, hosts: fleet.batches[batch]!, canary: fleet.canary && batch === 0, at: Date.now() });
    }),
    finishBatch: act<{ phase: string; batch: number }>(({ context, enqueue }, { phase, batch }) => {
      const record = context.fleets![phase]!;
      const members = fleetOf(phase).batches[batch]!;
      const failed = failedHosts(record);
      enqueue.emit({
        type: 'batch.finished',
        phase,
        batch: batch + 1,
        done: members.filter((host) => record.hosts[host]?.outcome === 'done'),
        failed: members.filter((host) => failed.includes(host)),
        at: Date.now(),
      });
    }),
    /** The rollout is over: no batch is under way any more (its rules say so). */
    finishFleet: act<{ phase: string }>(({ context, enqueue }, { phase }) => {
      enqueue.assign({ fleets: withFleet(context, phase, (record) => ({ ...record, batch: fleetOf(phase).batches.length })) });
    }),
    startHost: act<{ phase: string; host: string }>(({ context, enqueue }, { phase, host }) => {
      const at = Date.now();
      const batch = context.fleets![phase]!.batch;
      enqueue.assign({ fleets: withHost(context, phase, host, { outcome: 'running', startedAt: at, batch }) });
      enqueue.emit({ type: 'host.started', phase, host, batch: batch + 1, at });
    }),
    /** At a `per: batch` checkpoint: the host waits for its batch, holding no slot. */
    parkHost: act<{ phase: string; host: string }>(({ context, enqueue }, { phase, host }) => {
      enqueue.assign({ fleets: withHost(context, phase, host, { parked: true }) });
    }),
    /** Past the batch's checkpoint: the host goes on with its next steps. */
    unparkHost: act<{ phase: string; host: string }>(({ context, enqueue }, { phase, host }) => {
      enqueue.assign({ fleets: withHost(context, phase, host, { parked: false }) });
    }),
    endHost: act<{ phase: string; host: string; outcome: HostEnd }>(({ context, event, enqueue }, { phase, host, outcome }) => {
      const at = Date.now();
      const record = context.fleets![phase]!.hosts[host]!;
      const failedStep = failedStepOf(fleetOf(phase), context, host);
      const reason = outcome === 'done' ? undefined : (record.reason ?? reasonOf(event) ?? (failedStep ? context.steps[failedStep]?.error : undefined));
      const fleetsNow = withHost(context, phase, host, { outcome, endedAt: at, ...(reason !== undefined ? { reason } : {}) });
      // Its failed step no longer waits for anyone: the focus goes to a host that does.
      const ownSteps = [...fleetOf(phase).perHost[host]!.steps, ...fleetOf(phase).perHost[host]!.fallback].map((step) => step.id);
      const current =
        context.current !== null && ownSteps.includes(context.current)
          ? (waitingFleetStep(fleets, { ...context, fleets: fleetsNow }, context.steps, context.current) ?? null)
          : context.current;
      const skippedStep = outcome === 'skipped' ? failedStep : undefined;
      enqueue.assign({
        fleets: fleetsNow,
        current,
        ...(skippedStep !== undefined
          ? { steps: { ...context.steps, [skippedStep]: { ...context.steps[skippedStep]!, status: 'skipped', skipReason: reason ?? '' } } }
          : {}),
      });
      enqueue.emit({ type: 'host.finished', phase, host, outcome, ...(reason !== undefined ? { reason } : {}), at });
    }),
    /** The upgrader's decision about one host (SKIP_HOST, FALLBACK_HOST, STOP_ROLLOUT naming it): journaled with its failed step. */
    decideHost: act<{ phase: string; host: string; action: 'skip-host' | 'fallback-host' | 'stop-rollout' }>(({ context, event, enqueue }, params) => {
      const stepId = failedStepOf(fleetOf(params.phase), context, params.host) ?? null;
      const reason = reasonOf(event);
      const error = stepId !== null ? context.steps[stepId]?.error : undefined;
      // Why the host ends as it does: the failure, then what the upgrader said.
      const why = [error, reason].filter((text) => text !== undefined && text !== '').join('; ');
      enqueue.assign({ fleets: withHost(context, params.phase, params.host, why !== '' ? { reason: why } : {}) });
      enqueue.emit({ type: 'decision', stepId, action: params.action, by: actorOf(event), ...(reason ? { reason } : {}), host: params.host, at: Date.now() });
    }),
    /** A host's fallback after a failure with on_fail: fallback: why it falls back. */
    hostFallsBack: act<{ phase: string; host: string }>(({ context, enqueue }, { phase, host }) => {
      const stepId = failedStepOf(fleetOf(phase), context, host);
      if (context.fleets![phase]!.hosts[host]!.reason !== undefined || stepId === undefined) return;
      enqueue.assign({ fleets: withHost(context, phase, host, { reason: `step ${stepId} failed and says on_fail: fallback` }) });
    }),
    stopRollout: act<{ phase: string }>(({ context, event, enqueue }, { phase }) => {
      if (event.type !== 'STOP_ROLLOUT') return;
      const reason = event.reason.trim();
      enqueue.assign({ fleets: withFleet(context, phase, (record) => ({ ...record, stopping: { by: event.by, reason } })) });
      if (event.host === undefined) enqueue.emit({ type: 'decision', stepId: null, action: 'stop-rollout', by: event.by, reason, at: Date.now() });
    }),
    haltRollout: act<{ phase: string; batch: number }>(({ context, enqueue }, { phase, batch }) => {
      const record = context.fleets![phase]!;
      const failed = failedHosts(record);
      const counted = newlyFailed(record);
      const { maxFail } = fleetOf(phase);
      const since = (record.accepted ?? []).length > 0 ? ' since the rollout went on past the last halt' : '';
      const reason = record.stopping
        ? `${record.stopping.by.name} stopped the rollout: ${record.stopping.reason}`
        : `${counted.length} host${counted.length === 1 ? '' : 's'} failed${since} (${counted.join(', ')}), more than max_fail ${maxFail}`;
      enqueue.emit({ type: 'rollout.halted', phase, batch: batch + 1, failed, maxFail, reason, at: Date.now() });
    }),
    continueRollout: act<{ phase: string }>(({ context, enqueue }, { phase }) => {
      const { stopping: _stopping, ...rest } = context.fleets![phase]!;
      enqueue.assign({ fleets: { ...context.fleets, [phase]: { ...rest, accepted: failedHosts(rest) } } });
    }),
  };
}

export function fleetGuards(fleets: Record<string, Fleet>) {
  return {
    /**
     * The host's turn has come: the hosts at work and the queued hosts before it (in the
     * group's order) are fewer than `parallel`. Every queued host of a batch asks this at
     * once, on the same context: counting those before it keeps their answers consistent.
     */
    fleetSlotFree: ({ context }: Args, { phase, host }: { phase: string; host: string }) => {
      const slots = slotsOf(context.fleets?.[phase]?.hosts ?? {}, fleets[phase]!);
      return slots.running + (slots.waitingBefore.get(host) ?? 0) < fleets[phase]!.parallel;
    },
    /** The host already ended (a rollout gone through again keeps what its hosts did). */
    hostEnded: ({ context }: Args, { phase, host }: { phase: string; host: string }) => {
      const outcome = context.fleets?.[phase]?.hosts[host]?.outcome;
      return outcome !== undefined && outcome !== 'queued' && outcome !== 'running';
    },
    /** More hosts failed than max_fail, or the upgrader stopped the rollout. */
    rolloutHalts: ({ context }: Args, { phase }: { phase: string }) => {
      const record = context.fleets?.[phase];
      return record !== undefined && (record.stopping !== undefined || newlyFailed(record).length > fleets[phase]!.maxFail);
    },
    /** A rollout event about this host of this phase. */
    forHost: ({ event }: Args, params: { phase: string; host: string }) =>
      'phase' in event && event.phase === params.phase && 'host' in event && event.host === params.host,
    forPhase: ({ event }: Args, params: { phase: string }) => 'phase' in event && event.phase === params.phase,
    /** In a fall-back-all: the host has something to undo (it started, and neither fell back nor was skipped). */
    hostToFallBack: ({ context }: Args, { phase, host }: { phase: string; host: string }) => {
      const outcome = context.fleets?.[phase]?.hosts[host]?.outcome;
      return outcome === 'running' || outcome === 'done' || outcome === 'failed';
    },
  };
}
