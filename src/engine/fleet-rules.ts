// The rules of a rollout (`for_each` phases): when a host may be skipped or fall back on its
// own, and when the rollout may be stopped. Asked by the machine's guards and by front-ends
// through the same refusalOf as every other action.
import type { Fleet } from '../runbook/types.js';
import type { EngineContext } from './context.js';
import type { ActionQuery } from './events.js';

type FleetQuery = Extract<ActionQuery, { type: 'SKIP_HOST' | 'FALLBACK_HOST' | 'STOP_ROLLOUT' }>;

const lacks = (text: string | undefined): boolean => text !== undefined && text.trim() === '';

/** Whether `host` has started its fallback: then its own steps' failure is behind it. */
export function fallingBack(fleet: Fleet, context: EngineContext, host: string): boolean {
  return (fleet.perHost[host]?.fallback ?? []).some((step) => (context.steps[step.id]?.status ?? 'pending') !== 'pending');
}

/** The step of `host` that failed and waits for a decision, if any (once it falls back, only a fallback step's). */
export function failedStepOf(fleet: Fleet, context: EngineContext, host: string): string | undefined {
  const own = fleet.perHost[host];
  if (!own) return undefined;
  const steps = fallingBack(fleet, context, host) ? own.fallback : [...own.steps, ...own.fallback];
  return steps.find((step) => context.steps[step.id]?.status === 'failed')?.id;
}

/** A step of a host still at work that waits for a person (failed, or waiting), other than `except`: where the focus goes next. */
export function waitingFleetStep(fleets: Record<string, Fleet>, context: EngineContext, steps: EngineContext['steps'], except: string): string | undefined {
  for (const [phase, fleet] of Object.entries(fleets)) {
    const record = context.fleets?.[phase];
    if (!record) continue;
    for (const host of fleet.hosts) {
      if (record.hosts[host]?.outcome !== 'running') continue;
      const own = fleet.perHost[host]!;
      const waiting = [...own.steps, ...own.fallback].find(
        (step) => step.id !== except && (steps[step.id]?.status === 'failed' || steps[step.id]?.status === 'waiting'),
      );
      if (waiting) return waiting.id;
    }
  }
  return undefined;
}

/** Why a rollout action would be refused, or null when the machine takes it. */
export function fleetRefusal(fleets: Record<string, Fleet>, context: EngineContext, query: FleetQuery): string | null {
  const fleet = fleets[query.phase];
  if (!fleet) return `phase ${query.phase} does not run for each host of a group`;
  const record = context.fleets?.[query.phase];
  if (!record || context.track !== 'main' || record.batch >= fleet.batches.length) return `the rollout of phase ${query.phase} is not under way`;
  const host = query.type === 'STOP_ROLLOUT' ? query.host : query.host;
  if (host !== undefined) {
    const standing = record.hosts[host];
    if (!standing) return `${host} is not one of the hosts of phase ${query.phase}`;
    if (standing.outcome !== 'running') return `${host} is ${standing.outcome}`;
    if (failedStepOf(fleet, context, host) === undefined) {
      return `${host} ${fallingBack(fleet, context, host) ? 'is falling back: its fallback runs' : 'has no failed step waiting for a decision'}`;
    }
  }
  switch (query.type) {
    case 'SKIP_HOST':
      return lacks(query.reason) ? 'skipping a host needs a reason' : null;
    case 'FALLBACK_HOST':
      if ((fleet.perHost[query.host]?.fallback.length ?? 0) === 0) return `phase ${query.phase} has no fallback steps for a host to run`;
      if (fallingBack(fleet, context, query.host)) return `${query.host} is already falling back: retry or skip its failed fallback step, or skip the host`;
      return lacks(query.reason) ? 'falling back a host needs a reason' : null;
    case 'STOP_ROLLOUT':
      if (record.stopping) return `the rollout of phase ${query.phase} is already stopping after this batch`;
      return lacks(query.reason) ? 'stopping the rollout needs a reason' : null;
  }
}
