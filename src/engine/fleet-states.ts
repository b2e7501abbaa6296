// The machine's states for a `for_each` phase: its batches in order, each a parallel state
// with one region per host, each region that host's steps with its own failure ways (its
// fallback, skipping it, stopping the rollout). After a batch, more failed hosts than
// max_fail (or the upgrader's stop) rest the rollout at that batch's halt checkpoint; after
// a canary batch, the canary checkpoint asks before the rest start. FALLBACK during the
// rollout is "fall back all": every host that started runs its fallback, in parallel.
import { and } from 'xstate';
import type { Phase, Runbook, Step } from '../runbook/types.js';
import { fallbackStateOf, type FallbackScopes } from './fallback-scope.js';
import { allFallbackStateId, batchKey, batchStateId, fleetStateId, fleetStateKey, hostFallbackTarget, segmentRegionId } from './fleet-ids.js';
import type { StateConfig } from './setup.js';
import { FINAL, MACHINE_ID, type TrackOptions } from './step-plan.js';
import { stepState } from './step-states.js';

const onTheRun = { type: 'allows' as const, params: { at: null } };

/** The main track: each phase's steps in order, a `for_each` phase as one state. */
export function mainTrackStates(runbook: Runbook, options: TrackOptions): StateConfig {
  type Unit = Step | { fleet: Phase };
  const units: Unit[] = runbook.phases.flatMap((phase): Unit[] => (phase.fleet ? [{ fleet: phase }] : phase.steps));
  const keyOf = (unit: Unit) => ('fleet' in unit && !('kind' in unit) ? fleetStateKey(unit.fleet.name) : (unit as Step).id);
  const states: Record<string, StateConfig> = {};
  units.forEach((unit, index) => {
    const following = units[index + 1];
    const next = `#${MACHINE_ID}.main.${following ? keyOf(following) : FINAL}`;
    states[keyOf(unit)] = 'kind' in unit ? stepState(unit, next, 'main', options) : fleetState(unit.fleet, next, options);
  });
  states[FINAL] = { type: 'final' };
  return { initial: units[0] ? keyOf(units[0]) : FINAL, states };
}

function fleetState(phase: Phase, next: string, options: TrackOptions): StateConfig {
  const fleet = phase.fleet!;
  const name = phase.name;
  const self = `#${fleetStateId(name)}`;
  const count = fleet.batches.length;
  const states: Record<string, StateConfig> = {};
  fleet.batches.forEach((members, k) => {
    const afterBatch = k + 1 < count ? batchKey(k + 1) : 'Done';
    const goOn = fleet.canary && k === 0 && count > 1 ? 'Canary' : afterBatch;
    states[batchKey(k)] = batchState(phase, k, members, options);
    states[`After_${k}`] = {
      entry: [{ type: 'finishBatch', params: { phase: name, batch: k } }],
      always: [{ guard: { type: 'rolloutHalts', params: { phase: name } }, target: `Halt_${k}` }, { target: goOn }],
    };
    states[`Halt_${k}`] = {
      ...stepState(fleet.halts[k]!, `${self}.${goOn}`, 'main', options),
      entry: [{ type: 'haltRollout', params: { phase: name, batch: k } }],
      exit: [{ type: 'continueRollout', params: { phase: name } }],
    };
  });
  if (fleet.canaryCheckpoint && count > 1) states.Canary = stepState(fleet.canaryCheckpoint, `${self}.${batchKey(1)}`, 'main', options);
  states.Done = { type: 'final', entry: [{ type: 'finishFleet', params: { phase: name } }] };
  return {
    id: fleetStateId(name),
    entry: [{ type: 'startFleet', params: { phase: name } }],
    initial: batchKey(0),
    states,
    onDone: next,
    on: {
      STOP_ROLLOUT: [{ guard: and([{ type: 'forPhase', params: { phase: name } }, onTheRun]), actions: [{ type: 'stopRollout', params: { phase: name } }] }],
    },
  };
}

/** A part of each host's steps, between `per: batch` checkpoints (the whole of them without any). */
interface Segment {
  index: number;
  from: number;
  to: number;
  last: boolean;
}

/**
 * A batch: its hosts in parallel. With `per: batch` checkpoints, in parts: every host of the
 * batch does its part, then the batch's checkpoint is asked once, then the next part.
 */
function batchState(phase: Phase, k: number, members: string[], options: TrackOptions): StateConfig {
  const fleet = phase.fleet!;
  const name = phase.name;
  const entry = [{ type: 'startBatch' as const, params: { phase: name, batch: k } }];
  const count = fleet.perHost[members[0]!]!.steps.length;
  const cuts = fleet.batchCheckpoints.map((checkpoint) => checkpoint.after);
  const bounds = [0, ...cuts, count];
  const segments: Segment[] = bounds.slice(0, -1).map((from, index) => ({ index, from, to: bounds[index + 1]!, last: index === cuts.length }));
  const regions = (segment: Segment) => Object.fromEntries(members.map((host) => [host, hostRegion(phase, host, segment, options)]));
  if (cuts.length === 0) return { type: 'parallel', entry, states: regions(segments[0]!), onDone: `After_${k}` };
  const self = `#${batchStateId(name, k)}`;
  const states: Record<string, StateConfig> = {};
  for (const segment of segments) {
    states[`Part_${segment.index}`] = { type: 'parallel', states: regions(segment), onDone: segment.last ? 'Parts' : `Checkpoint_${segment.index}` };
    if (!segment.last) {
      states[`Checkpoint_${segment.index}`] = stepState(
        fleet.batchCheckpoints[segment.index]!.perBatch[k]!,
        `${self}.Part_${segment.index + 1}`,
        'main',
        options,
      );
    }
  }
  states['Parts'] = { type: 'final' };
  return { id: batchStateId(name, k), entry, initial: 'Part_0', states, onDone: `After_${k}` };
}

/** One host's region in its batch (or a part of it): queued for a free slot, its steps, and how it ends. */
function hostRegion(phase: Phase, host: string, segment: Segment, options: TrackOptions): StateConfig {
  const fleet = phase.fleet!;
  const name = phase.name;
  const own = fleet.perHost[host]!;
  const regionId = segmentRegionId(name, host, segment.index);
  const region = `#${regionId}`;
  const params = { phase: name, host };
  const hasFallback = own.fallback.length > 0;
  const states: Record<string, StateConfig> = {};
  const stepOptions: TrackOptions = { ...options, hostFallback: hasFallback ? hostFallbackTarget(regionId) : null };
  const steps = own.steps.slice(segment.from, segment.to);
  const end = segment.last ? 'Finished' : 'Parked';
  steps.forEach((step, index) => {
    states[step.id] = stepState(step, `${region}.${steps[index + 1]?.id ?? end}`, 'fleet', stepOptions);
  });
  if (hasFallback) {
    const fallbackStates: Record<string, StateConfig> = {};
    own.fallback.forEach((step, index) => {
      fallbackStates[step.id] = stepState(step, `${region}.FallingBack.${own.fallback[index + 1]?.id ?? FINAL}`, 'hostFallback', {
        ...options,
        hostFallback: null,
      });
    });
    fallbackStates[FINAL] = { type: 'final' };
    states.FallingBack = {
      entry: [{ type: 'hostFallsBack', params }],
      initial: own.fallback[0]!.id,
      states: fallbackStates,
      onDone: 'FellBack',
    };
  }
  const ending = (outcome: 'done' | 'failed' | 'fell-back' | 'skipped'): StateConfig => ({
    entry: [{ type: 'endHost', params: { ...params, outcome } }],
    always: 'Ended',
  });
  const forHost = { type: 'forHost' as const, params };
  return {
    id: regionId,
    initial: 'Queued',
    states: {
      Queued: {
        always: [
          { guard: { type: 'hostEnded', params }, target: 'Ended' },
          {
            guard: { type: 'fleetSlotFree', params },
            target: steps[0]?.id ?? end,
            actions: [{ type: segment.index === 0 ? ('startHost' as const) : ('unparkHost' as const), params }],
          },
        ],
      },
      ...states,
      ...(segment.last ? { Finished: ending('done') } : { Parked: { entry: [{ type: 'parkHost', params }], always: 'Ended' } }),
      ...(hasFallback ? { FellBack: ending('fell-back') } : {}),
      Skipped: ending('skipped'),
      Stopped: ending('failed'),
      Ended: { type: 'final' },
    },
    on: {
      SKIP_HOST: [{ guard: and([forHost, onTheRun]), target: '.Skipped', actions: [{ type: 'decideHost', params: { ...params, action: 'skip-host' } }] }],
      ...(hasFallback
        ? {
            FALLBACK_HOST: [
              { guard: and([forHost, onTheRun]), target: '.FallingBack', actions: [{ type: 'decideHost', params: { ...params, action: 'fallback-host' } }] },
            ],
          }
        : {}),
      STOP_ROLLOUT: [
        {
          guard: and([forHost, onTheRun]),
          target: '.Stopped',
          actions: [
            { type: 'stopRollout', params: { phase: name } },
            { type: 'decideHost', params: { ...params, action: 'stop-rollout' } },
          ],
        },
      ],
    },
  };
}

/**
 * Fall back all, for each `for_each` phase whose hosts have fallback steps: every host that
 * started and neither fell back nor was skipped runs its fallback, in parallel. Then the run
 * ends fallen back, or (fallback_then: outer) goes on to the runbook's fallback.
 */
export function fleetFallbackStates(runbook: Runbook, options: TrackOptions & { fallbacks: FallbackScopes }): Record<string, StateConfig> {
  const states: Record<string, StateConfig> = {};
  for (const phase of runbook.phases) {
    const fleet = phase.fleet;
    if (!fleet || !Object.values(fleet.perHost).some((own) => own.fallback.length > 0)) continue;
    const key = fallbackStateOf(phase.name);
    const outer = phase.fallbackThen === 'outer' && options.fallbacks.outer;
    const regions: Record<string, StateConfig> = {};
    for (const host of fleet.hosts) {
      const own = fleet.perHost[host]!;
      const regionId = `all:${phase.name}:${host}`;
      const steps: Record<string, StateConfig> = {};
      own.fallback.forEach((step, index) => {
        steps[step.id] = stepState(step, `#${regionId}.${own.fallback[index + 1]?.id ?? 'Ended'}`, key, {
          ...options,
          hostFallback: null,
          stateIdOf: allFallbackStateId,
        });
      });
      const params = { phase: phase.name, host };
      regions[host] = {
        id: regionId,
        initial: 'Check',
        states: {
          Check: {
            always: [
              ...(own.fallback.length > 0 ? [{ guard: { type: 'hostToFallBack' as const, params }, target: own.fallback[0]!.id }] : []),
              { target: 'Ended' },
            ],
          },
          ...steps,
          Ended: { type: 'final' },
        },
      };
    }
    states[key] = {
      type: 'parallel',
      entry: [{ type: 'enterFallback', params: { scope: phase.name } }],
      states: regions,
      onDone: outer ? { target: fallbackStateOf(null), actions: [{ type: 'requestFallback', params: { after: phase.name } }] } : 'fellBack',
    };
  }
  return states;
}
