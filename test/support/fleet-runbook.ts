// A runbook with a `for_each` phase made by hand (the shape the loader makes), and contexts
// of a rollout in progress, for the front-ends' tests of fleets.
import { NO_HANDS, type EngineContext, type FleetRecord, type HostRecord } from '../../src/engine/context.js';
import type { HostOutcome, StepRecord, StepStatus } from '../../src/engine/events.js';
import { parseRunbook } from '../../src/runbook/load.js';
import { allSteps, type CheckpointStep, type Fleet, type RunStep, type Runbook, type Step } from '../../src/runbook/types.js';

export interface FleetShape {
  hosts: string[];
  /** Hosts per batch (default: all in one). */
  serial?: number;
  canary?: boolean;
  maxFail?: number;
  /** Each host gets its own fallback step (default true). */
  fallback?: boolean;
  phase?: string;
}

const at = { line: 1, col: 1 };

function runStep(id: string, number: string, title: string, host: string, phase: string | null, command: string): RunStep {
  return { kind: 'run', id, number, title, host, phase, command, detached: false, onFail: 'ask', needsHands: false, at };
}

function checkpoint(id: string, number: string, text: string, phase: string): CheckpointStep {
  return { kind: 'checkpoint', id, number, title: text, text, by: 'upgrader', phase, onFail: 'ask', needsHands: false, at };
}

/** Phase 1 `prep` (one local note), phase 2 the rollout: per host `update-1@H` (apt-get update) and `update-2@H` (apt-get upgrade). */
export function fleetRunbook(shape: FleetShape): Runbook {
  const base = parseRunbook(
    `name: Fleet update
hosts:
  jump: {}
phases:
  - name: prep
    steps:
      - note: look at the dashboards first
        id: look
fallback:
  - local: echo tell the team
    title: tell the team
`,
    'fleet.yaml',
  );
  const phase = shape.phase ?? 'update';
  const serial = shape.serial ?? shape.hosts.length;
  const batches: string[][] = [];
  const rest = [...shape.hosts];
  if (shape.canary && rest.length > 0) batches.push(rest.splice(0, 1));
  while (rest.length > 0) batches.push(rest.splice(0, serial));
  const perHost: Fleet['perHost'] = {};
  for (const host of shape.hosts) {
    const own = (step: Step, baseId: string): Step => ({ ...step, instanceOf: { host, baseId } });
    perHost[host] = {
      steps: [
        own(runStep(`${phase}-1@${host}`, `2.1@${host}`, 'refresh the package lists', host, phase, 'apt-get update'), `${phase}-1`),
        own(runStep(`${phase}-2@${host}`, `2.2@${host}`, 'install the updates', host, phase, 'apt-get -y upgrade'), `${phase}-2`),
      ],
      fallback:
        shape.fallback === false
          ? []
          : [own(runStep(`${phase}-fallback-1@${host}`, `2.F1@${host}`, 'restore the snapshot', host, phase, 'snapshot restore'), `${phase}-fallback-1`)],
    };
  }
  const halts = batches.map((_, k) => checkpoint(`${phase}-halt-${k + 1}`, `2.H${k + 1}`, 'the rollout stopped: look at the failed hosts', phase));
  const canaryCheckpoint = shape.canary ? checkpoint(`${phase}-canary`, '2.C', 'the canary host is updated: look at it', phase) : undefined;
  const fleet: Fleet = {
    group: 'guests',
    as: 'guest',
    hosts: shape.hosts,
    batches,
    canary: shape.canary === true,
    maxFail: shape.maxFail ?? 0,
    parallel: 20,
    written: { ...(shape.serial !== undefined ? { serial: String(shape.serial) } : {}), maxFail: String(shape.maxFail ?? 0) },
    perHost,
    ...(canaryCheckpoint ? { canaryCheckpoint } : {}),
    halts,
    batchCheckpoints: [],
  };
  const steps = [...shape.hosts.flatMap((host) => perHost[host]!.steps), ...(canaryCheckpoint ? [canaryCheckpoint] : []), ...halts];
  return {
    ...base,
    phaseOrder: [...base.phaseOrder, phase],
    groups: { guests: shape.hosts },
    phases: [...base.phases, { name: phase, title: 'Update the guests', steps, fleet }],
  };
}

/** Every step pending, the rollout at `batch`, no host started. */
export function fleetContext(runbook: Runbook, batch = 0): EngineContext {
  const steps: Record<string, StepRecord> = Object.fromEntries(
    allSteps(runbook).map((step) => [step.id, { status: 'pending', attempts: 0, confirmations: [] }]),
  );
  steps.look = { status: 'done', attempts: 1, confirmations: [], startedAt: 0, endedAt: 1 };
  const phase = runbook.phases.find((each) => each.fleet)!;
  const fleets: Record<string, FleetRecord> = { [phase.name]: { batch, hosts: {} } };
  return { steps, current: null, track: 'main', hands: NO_HANDS, fleets };
}

/** Puts `host` at `outcome`, its step `stepIndex` (0-based) at `status` with `error`. */
export function standHost(
  context: EngineContext,
  runbook: Runbook,
  host: string,
  outcome: HostOutcome,
  step?: { index: number; status: StepStatus; error?: string; fallback?: boolean },
  reason?: string,
): void {
  const phase = runbook.phases.find((each) => each.fleet)!;
  const fleet = phase.fleet!;
  const batch = fleet.batches.findIndex((members) => members.includes(host));
  const record: HostRecord = { outcome, batch, startedAt: 1000, ...(outcome !== 'running' ? { endedAt: 61_000 } : {}), ...(reason ? { reason } : {}) };
  context.fleets![phase.name]!.hosts[host] = record;
  const own = fleet.perHost[host]!;
  const done = (id: string) => (context.steps[id] = { status: 'done', attempts: 1, confirmations: [], startedAt: 1000, endedAt: 2000 });
  if (outcome === 'done') own.steps.forEach((each) => done(each.id));
  if (!step) return;
  const list = step.fallback ? own.fallback : own.steps;
  if (step.fallback) own.steps.forEach((each) => done(each.id));
  list.slice(0, step.index).forEach((each) => done(each.id));
  context.steps[list[step.index]!.id] = {
    status: step.status,
    attempts: 1,
    confirmations: [],
    startedAt: 1000,
    ...(step.status === 'failed' ? { endedAt: 3000 } : {}),
    ...(step.error !== undefined ? { error: step.error } : {}),
  };
}
