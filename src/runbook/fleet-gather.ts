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
      batchCheckpoints: [],
    };
    const { fallback: _fallback, ...rest } = phase;
    phases.push({ ...rest, title: fleetTitle(phase, instance), fleet });
  });
  const number = (name: string) => runbook.phaseOrder.indexOf(name) + 1;
  return {
    ...runbook,
    hosts: withoutUnselected(runbook, phases, groups),
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
      const { perHost, batchCheckpoints } = perBatchCheckpoints(fleet);
      const withCheckpoints: Fleet = { ...fleet, perHost, ...(canaryCheckpoint ? { canaryCheckpoint } : {}), halts, batchCheckpoints };
      const hostSteps = fleet.hosts.flatMap((host) => perHost[host]!.steps);
      const once = batchCheckpoints.flatMap((checkpoint) => checkpoint.perBatch);
      return { ...phase, steps: [...hostSteps, ...once, ...(canaryCheckpoint ? [canaryCheckpoint] : []), ...halts], fleet: withCheckpoints };
    }),
  };
}

/**
 * The runbook's hosts less the group members that --hosts or --limit left out and nothing
 * else names (a step, the sentinel, another host's proxy_jump): the check and the run never
 * log in to them.
 */
function withoutUnselected(runbook: Runbook, phases: Phase[], groups: Record<string, string[]>): Runbook['hosts'] {
  const named = new Set<string>();
  for (const phase of phases) {
    const steps = phase.fleet
      ? Object.values(phase.fleet.perHost).flatMap((own) => [...own.steps, ...own.fallback])
      : [...phase.steps, ...(phase.fallback ?? [])];
    for (const step of steps) for (const host of hostsNamedBy(step)) named.add(host);
  }
  for (const step of runbook.fallback) for (const host of hostsNamedBy(step)) named.add(host);
  if (runbook.sentinel) named.add(runbook.sentinel.host);
  const members = new Set(Object.values(groups).flat());
  const keeps = (name: string) => !members.has(name) || named.has(name);
  // A kept host's jump host stays too, however it was declared, and so on along the chain.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, spec] of Object.entries(runbook.hosts)) {
      if (keeps(name) && spec.proxyJump !== undefined && !named.has(spec.proxyJump)) {
        named.add(spec.proxyJump);
        grew = true;
      }
    }
  }
  return Object.fromEntries(Object.entries(runbook.hosts).filter(([name]) => keeps(name)));
}

function hostsNamedBy(step: Step): string[] {
  return [...('host' in step && step.host !== '' ? [step.host] : [])];
}

/**
 * Checkpoints written with `per: batch` leave each host's steps: one per batch stands where
 * they were, made from the first host's (its name in the title and text read as the batch's hosts).
 */
function perBatchCheckpoints(fleet: Fleet): Pick<Fleet, 'perHost' | 'batchCheckpoints'> {
  const first = fleet.hosts[0]!;
  const written = fleet.perHost[first]!.steps;
  if (!written.some(isPerBatch)) return { perHost: fleet.perHost, batchCheckpoints: [] };
  const perHost = Object.fromEntries(
    Object.entries(fleet.perHost).map(([host, own]) => [host, { ...own, steps: own.steps.filter((step) => !isPerBatch(step)) }]),
  );
  const named = new RegExp(`(?<![\\w-])${first}(?![\\w-])`, 'g');
  const batchCheckpoints = written.flatMap((step, index) => {
    if (!isPerBatch(step)) return [];
    const after = written.slice(0, index).filter((before) => !isPerBatch(before)).length;
    const baseId = step.instanceOf?.baseId ?? step.id;
    const perBatch = fleet.batches.map((members, k): Step => {
      const hosts = members.join(', ');
      const { instanceOf: _instanceOf, ...rest } = step;
      return {
        ...rest,
        id: `${baseId}@batch${k + 1}`,
        number: step.number.replace(`@${first}`, `@batch${k + 1}`),
        title: step.title.replace(named, hosts),
        text: step.text.replace(named, hosts),
      };
    });
    return [{ after, perBatch }];
  });
  return { perHost, batchCheckpoints };
}

function isPerBatch(step: Step): step is CheckpointStep {
  return step.kind === 'checkpoint' && step.perBatch === true;
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
