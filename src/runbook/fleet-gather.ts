// The loader makes a `for_each` phase one phase per host (each like a template's use with
// that host); here they become one phase again, with each host's steps, its batches and the
// checkpoints between them. Pure: after the schema check and the conditions.
import type { FleetInstance } from './compose.js';
import type { CheckpointStep, Fleet, Phase, Runbook, Step } from './types.js';

export function gatherFleets(runbook: Runbook, instances: ReadonlyMap<number, FleetInstance>, groups: Record<string, string[]>): Runbook {
  if (instances.size === 0) return Object.keys(groups).length > 0 ? { ...runbook, groups } : runbook;
  const phases: Phase[] = [];
  runbook.phases.forEach((phase, p) => {
    const instance = instances.get(p);
    const last = phases.at(-1);
    if (!instance) {
      phases.push(phase);
      return;
    }
    const own = { steps: phase.steps, fallback: phase.fallback ?? [] };
    if (last?.fleet && last.name === instance.name) {
      last.fleet.perHost[instance.host] = own;
      return;
    }
    const fleet: Fleet = {
      group: instance.settings.group,
      as: instance.settings.as,
      hosts: instance.hosts,
      batches: instance.batches,
      canary: instance.settings.canary > 0,
      maxFail: instance.maxFail,
      parallel: instance.settings.parallel,
      written: {
        ...(instance.settings.serial ? { serial: instance.settings.serial.written } : {}),
        ...(instance.settings.maxFail ? { maxFail: instance.settings.maxFail.written } : {}),
      },
      perHost: { [instance.host]: own },
      halts: [],
    };
    const { fallback: _fallback, ...rest } = phase;
    phases.push({ ...rest, title: fleetTitle(phase, instance), fleet });
  });
  const number = (name: string) => runbook.phaseOrder.indexOf(name) + 1;
  return {
    ...runbook,
    groups,
    phases: phases.map((phase) => {
      if (!phase.fleet) return phase;
      const fleet = phase.fleet;
      const checkpoint = (id: string, suffix: string, title: string, text: string): CheckpointStep => ({
        id,
        number: `${number(phase.name)}.${suffix}`,
        phase: phase.name,
        title,
        at: phase.fleet!.perHost[fleet.hosts[0]!]!.steps[0]!.at,
        needsHands: false,
        onFail: 'ask',
        kind: 'checkpoint',
        text,
        by: 'upgrader',
      });
      const canaryCheckpoint = fleet.canary
        ? checkpoint(
            `${phase.name}-canary`,
            'canary',
            `The canary (${fleet.batches[0]!.join(', ')}) is through: go on with the rest?`,
            `Look at ${fleet.batches[0]!.join(', ')} before the other ${fleet.hosts.length - fleet.batches[0]!.length} hosts start. Confirm to go on with the rollout.`,
          )
        : undefined;
      const halts = fleet.batches.map((_, k) =>
        checkpoint(
          `${phase.name}-halt-${k + 1}`,
          `halt${k + 1}`,
          `The rollout stopped after batch ${k + 1} of ${fleet.batches.length}`,
          `More hosts failed than max_fail (${fleet.maxFail}) allows, or the rollout was stopped. Confirm to go on with the next batch, or fall back.`,
        ),
      );
      const withCheckpoints: Fleet = { ...fleet, ...(canaryCheckpoint ? { canaryCheckpoint } : {}), halts };
      const hostSteps = fleet.hosts.flatMap((host) => fleet.perHost[host]!.steps);
      return { ...phase, steps: [...hostSteps, ...(canaryCheckpoint ? [canaryCheckpoint] : []), ...halts], fleet: withCheckpoints };
    }),
  };
}

/** The phase's title as written, with the host's param shown as the group: "Update {{guest}}" reads "Update each of guests". */
function fleetTitle(phase: Phase, instance: FleetInstance): string {
  return phase.title === `${instance.name}--${instance.host}` ? instance.name : phase.title.split(instance.host).join(`each of ${instance.settings.group}`);
}

/** Every step a host of a `for_each` phase has: its own, then its fallback's. */
export function hostSteps(fleet: Fleet, host: string): Step[] {
  const own = fleet.perHost[host];
  return own ? [...own.steps, ...own.fallback] : [];
}
