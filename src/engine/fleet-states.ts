// The machine's states for a `for_each` phase: its batches in order, each a parallel state
// with one region per host, each region that host's steps with its own failure ways (its
// fallback, skipping it, stopping the rollout). After a batch, more failed hosts than
// max_fail (or the upgrader's stop) rest the rollout at that batch's halt checkpoint; after
// a canary batch, the canary checkpoint asks before the rest start. FALLBACK during the
// rollout is "fall back all": every host that started runs its fallback, in parallel.
import { and } from 'xstate';
import type { Phase, Runbook, Step } from '../runbook/types.js';
import { fallbackStateOf, type FallbackScopes } from './fallback-scope.js';
import { allFallbackStateId, batchKey, fleetStateId, fleetStateKey, hostFallbackTarget, hostRegionId } from './fleet-ids.js';
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
    states[batchKey(k)] = {
      type: 'parallel',
      entry: [{ type: 'startBatch', params: { phase: name, batch: k } }],
      states: Object.fromEntries(members.map((host) => [host, hostRegion(phase, host, options)])),
      onDone: `After_${k}`,
    };
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

/** One host's region in its batch: queued for a free slot, its steps, and how it ends. */
function hostRegion(phase: Phase, host: string, options: TrackOptions): StateConfig {
  const fleet = phase.fleet!;
  const name = phase.name;
  const own = fleet.perHost[host]!;
  const region = `#${hostRegionId(name, host)}`;
  const params = { phase: name, host };
  const hasFallback = own.fallback.length > 0;
  const states: Record<string, StateConfig> = {};
  const stepOptions: TrackOptions = { ...options, hostFallback: hasFallback ? hostFallbackTarget(name, host) : null };
  own.steps.forEach((step, index) => {
    states[step.id] = stepState(step, `${region}.${own.steps[index + 1]?.id ?? 'Finished'}`, 'fleet', stepOptions);
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
    id: hostRegionId(name, host),
    initial: 'Queued',
    states: {
      Queued: {
        always: [
          { guard: { type: 'hostEnded', params }, target: 'Ended' },
          { guard: { type: 'fleetSlotFree', params }, target: own.steps[0]!.id, actions: [{ type: 'startHost', params }] },
        ],
      },
      ...states,
      Finished: ending('done'),
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
