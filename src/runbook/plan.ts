// A runbook as a numbered checklist: who does what, in order, with what is destructive and
// what must be typed. Text for people, JSON for tools.
import { guardHosts, guardStepText } from './guard-text.js';
import { dirname, relative } from 'node:path';
import { captureSummary } from './capture-value.js';
import { formatDuration } from './duration.js';
import { describeChanges } from './edits.js';
import type { Fleet, PreflightCheck, RebootStep, Runbook, Step } from './types.js';

export interface PlanStep {
  number: string;
  id: string;
  kind: Step['kind'];
  /** The host that acts, the role that confirms, or "local". */
  who: string;
  title: string;
  command?: string;
  text?: string;
  /** Text to type before it runs (destructive steps) or to confirm (checkpoints). */
  typeToConfirm?: string;
  destructive: boolean;
  timeout?: string;
  onFail?: string;
  /** `needs: hands`: held while no sentinel is on site. */
  needsHands: boolean;
  /** `revert_after`: how long the revert armed before the change waits, and what it runs. */
  revert?: { after: string; command: string };
  /** The step's own `when:` conditions as written (its phase's is the phase's `when`). */
  when?: string[];
  /** `skip_done`: the check asked before the step runs; exit 0 marks it done without running it. */
  skipDoneCheck?: string;
  /** `capture:`: the value it takes for later steps, and from where. */
  captures?: string;
}

export interface Plan {
  name: string;
  description?: string;
  file: string;
  hash: string;
  sites: Runbook['sites'];
  hosts: string[];
  /** How the helper on site joins: the command to type on the site host. */
  helpers?: { host: string; port: number; command: string; notify: string };
  phases: Array<{
    number: number;
    name: string;
    title: string;
    when?: string;
    steps: PlanStep[];
    template?: string;
    fallback?: PlanStep[];
    fallbackThen?: 'stop' | 'outer';
    /** A for_each phase: its steps and fallback are shown once, as each host runs them (numbers and hosts without @HOST). */
    rollout?: { group: string; as: string; hosts: string[]; batches: string[][]; canary: boolean; maxFail: number; parallel: number };
  }>;
  /** Files the runbook includes, as read. */
  includes?: string[];
  fallback: PlanStep[];
}

function planStep(step: Step): PlanStep {
  const planned = plannedStep(step);
  return step.skipDone === true && (step.kind === 'run' || step.kind === 'local') && step.check !== undefined
    ? { ...planned, skipDoneCheck: step.check }
    : planned;
}

function plannedStep(step: Step): PlanStep {
  const when = (step.when ?? []).filter((condition) => condition.scope === 'step').map((condition) => condition.text);
  const base = { number: step.number, id: step.id, kind: step.kind, title: step.title, needsHands: step.needsHands, ...(when.length > 0 ? { when } : {}) };
  const acting = step.kind === 'note' ? {} : { ...(step.timeoutMs !== undefined ? { timeout: formatDuration(step.timeoutMs) } : {}), onFail: step.onFail };
  switch (step.kind) {
    case 'run':
    case 'local':
      return {
        ...base,
        ...acting,
        who: step.kind === 'run' ? step.host : 'local',
        command: step.command,
        destructive: step.confirmText !== undefined,
        ...(step.confirmText !== undefined ? { typeToConfirm: step.confirmText } : {}),
        ...(step.kind === 'run' && step.revert ? { revert: { after: formatDuration(step.revert.afterMs), command: step.revert.command } } : {}),
        ...(step.capture ? { captures: captureSummary(step.capture) } : {}),
      };
    case 'checkpoint':
      return {
        ...base,
        ...acting,
        who: step.by,
        text: step.text,
        destructive: false,
        ...(step.confirmText !== undefined ? { typeToConfirm: step.confirmText } : {}),
      };
    case 'wait':
      return { ...base, ...acting, who: step.host, destructive: false, ...(step.until.kind === 'command' ? { command: step.until.command } : {}) };
    case 'upload':
      return { ...base, ...acting, who: step.host, destructive: false, text: `${step.localPath} → ${step.remotePath}` };
    case 'reboot':
      return {
        ...base,
        ...acting,
        who: step.host,
        command: step.command,
        destructive: false,
        ...(rebootPromise(step) !== '' ? { text: rebootPromise(step) } : {}),
      };
    case 'preflight':
      return {
        ...base,
        ...acting,
        who: step.host,
        text: step.checks.map((check) => `check ${describeCheck(check)}`).join('\n'),
        destructive: false,
        ...(step.confirmText !== undefined ? { typeToConfirm: step.confirmText } : {}),
      };
    case 'note':
      return { ...base, who: 'everyone', text: step.text, destructive: false };
    case 'edit':
      return {
        ...base,
        ...acting,
        who: step.host,
        destructive: true,
        typeToConfirm: step.confirmText,
        text: `${step.path}${step.become ? ' (as root)' : ''}: ${describeChanges(step.changes)}; the diff is approved before it is made, the original kept beside it`,
      };
    case 'undo':
      return { ...base, ...acting, who: step.host, destructive: false, text: `undo step ${step.stepId}: put back ${step.path}` };
    case 'guard':
      return { ...base, ...acting, who: guardHosts(step.guard), destructive: false, text: guardStepText(step) };
  }
}

export function planOf(runbook: Runbook): Plan {
  return {
    name: runbook.name,
    ...(runbook.description !== undefined ? { description: runbook.description } : {}),
    file: runbook.file,
    hash: runbook.hash,
    sites: runbook.sites,
    hosts: Object.keys(runbook.hosts),
    ...(runbook.sentinel
      ? {
          helpers: {
            host: runbook.sentinel.host,
            port: runbook.sentinel.port,
            command: `ssh -p ${runbook.sentinel.port} sentinel@localhost`,
            notify: runbook.sentinel.notify === 'write' ? `write ${runbook.sentinel.user ?? ''}`.trim() : runbook.sentinel.notify,
          },
        }
      : {}),
    phases: runbook.phases.map((phase, index) => ({
      number: index + 1,
      name: phase.name,
      title: phase.title,
      ...(phase.when ? { when: phase.when.text } : {}),
      ...(phase.fleet ? rolloutOf(phase.fleet, phase.fallbackThen) : { steps: phase.steps.map(planStep) }),
      ...(phase.template !== undefined ? { template: phase.template } : {}),
      ...(phase.fallback !== undefined ? { fallback: phase.fallback.map(planStep), fallbackThen: phase.fallbackThen ?? 'stop' } : {}),
    })),
    ...(runbook.includes ? { includes: runbook.includes } : {}),
    fallback: runbook.fallback.map(planStep),
  };
}

/** A for_each phase's plan: its first host's steps as each host's, named by the group's param rather than that host. */
function rolloutOf(fleet: Fleet, fallbackThen: 'stop' | 'outer' | undefined) {
  const first = fleet.hosts[0]!;
  const own = fleet.perHost[first]!;
  // Host names are plain names (letters, digits, - and _): the first host's, as a whole word, stands for each host's.
  const named = new RegExp(`(?<![\\w-])${first}(?![\\w-])`, 'g');
  const general = (text: string | undefined) => text?.replace(named, `{{${fleet.as}}}`);
  const asEach = (step: Step): PlanStep => {
    const planned = planStep(step);
    return {
      ...planned,
      number: planned.number.replace(`@${first}`, ''),
      id: step.instanceOf?.baseId ?? step.id,
      who: planned.who === first ? `each ${fleet.as}` : planned.who,
      title: general(planned.title)!,
      ...(planned.command !== undefined ? { command: general(planned.command)! } : {}),
    };
  };
  const { group, as, hosts, batches, canary, maxFail, parallel } = fleet;
  return {
    steps: own.steps.map(asEach),
    ...(own.fallback.length > 0 ? { fallback: own.fallback.map(asEach), fallbackThen: fallbackThen ?? 'stop' } : {}),
    rollout: { group, as, hosts, batches, canary, maxFail, parallel },
  };
}

/** How a rollout goes, in a line: its hosts, batches, canary and failure threshold. */
export function rolloutLine(rollout: NonNullable<Plan['phases'][number]['rollout']>): string {
  const { hosts, batches, canary, maxFail, parallel, group } = rollout;
  const rest = canary ? batches.slice(1) : batches;
  const size = rest[0]?.length ?? 0;
  const shown = hosts.length > 12 ? `${hosts.slice(0, 10).join(', ')}, … (${hosts.length})` : hosts.join(', ');
  return [
    `for each of ${hosts.length} host${hosts.length === 1 ? '' : 's'} of ${group} (${shown})`,
    canary ? `canary ${batches[0]!.join(', ')} first, then a checkpoint` : '',
    rest.length > 0 ? `${rest.length === 1 ? `${canary ? 'the rest' : 'all'} in one batch` : `${size} at a time (${rest.length} batches)`}` : '',
    `at most ${parallel} at once`,
    maxFail === 0 ? 'stops and asks after a batch with a failed host' : `stops and asks once more than ${maxFail} failed`,
  ]
    .filter(Boolean)
    .join('; ');
}

export function formatPlan(plan: Plan, displayFile = plan.file): string {
  const lines: string[] = [];
  const whoWidth = Math.max(8, ...[...plan.phases.flatMap((p) => [...p.steps, ...(p.fallback ?? [])]), ...plan.fallback].map((s) => s.who.length));
  const stepLines = (step: PlanStep) => {
    const flags = [
      step.destructive ? `DESTRUCTIVE, type "${step.typeToConfirm}" to run` : '',
      !step.destructive && step.typeToConfirm !== undefined ? `type "${step.typeToConfirm}" to confirm` : '',
      step.needsHands ? 'needs hands on site' : '',
      step.timeout ? `timeout ${step.timeout}` : '',
      step.onFail && step.onFail !== 'ask' ? `on failure: ${step.onFail}` : '',
      step.skipDoneCheck !== undefined ? 'skipped when its check says it is done' : '',
    ].filter(Boolean);
    lines.push(`  [ ] ${step.number.padEnd(5)} ${step.who.padEnd(whoWidth)}  ${step.title}${flags.length ? `  (${flags.join('; ')})` : ''}`);
    const detail = (step.when ?? []).map((text) => `only when ${text}`);
    if (step.command) detail.push(...step.command.split('\n').map((line, i) => `${i === 0 ? '$' : ' '} ${line}`));
    if (step.text && step.text !== step.title) detail.push(...step.text.split('\n'));
    if (step.revert) detail.push(...revertText(step.revert).split('\n'));
    if (step.skipDoneCheck !== undefined) detail.push(...`done if: ${step.skipDoneCheck}`.split('\n'));
    if (step.captures) detail.push(step.captures);
    for (const line of detail) lines.push(`        ${' '.repeat(whoWidth + 6)}${line}`);
  };
  lines.push(plan.name);
  if (plan.description)
    lines.push(
      ...plan.description
        .trim()
        .split('\n')
        .map((line) => `  ${line}`),
    );
  lines.push(`  ${displayFile} (sha256 ${plan.hash.slice(0, 12)})`);
  lines.push(`  upgrader: ${plan.sites.upgrader.name} (${plan.sites.upgrader.tz}); site: ${plan.sites.site.name} (${plan.sites.site.tz})`);
  if (plan.hosts.length > 0) {
    lines.push(`  hosts: ${plan.hosts.length > 24 ? `${plan.hosts.slice(0, 20).join(', ')}, … (${plan.hosts.length} in all)` : plan.hosts.join(', ')}`);
  }
  if (plan.includes) lines.push(`  includes: ${plan.includes.map((file) => relative(dirname(plan.file), file)).join(', ')}`);
  if (plan.helpers) {
    lines.push(`  the helper on site joins on ${plan.helpers.host} with: ${plan.helpers.command} (the upgrader reads out the code)`);
  }
  for (const phase of plan.phases) {
    const template = phase.template !== undefined ? `  (template ${phase.template})` : '';
    lines.push('', `Phase ${phase.number}: ${phase.title}${template}${phase.when ? ` (each step only when ${phase.when})` : ''}`);
    if (phase.rollout) lines.push(`  ${rolloutLine(phase.rollout)}`);
    phase.steps.forEach(stepLines);
    if (phase.fallback !== undefined) {
      const then = phase.fallbackThen === 'outer' ? "then the runbook's fallback" : 'then the run ends fallen back';
      lines.push(`  Fallback of phase ${phase.name} (from a failure in this phase, or by hand; ${then})`);
      phase.fallback.forEach(stepLines);
    }
  }
  if (plan.fallback.length > 0) {
    lines.push('', 'Fallback (from any failure, or by hand)');
    plan.fallback.forEach(stepLines);
  }
  return `${lines.join('\n')}\n`;
}

/** How a plan (and the helper's printout) states a step's dead-man timer. */
export function revertText(revert: { after: string; command: string }): string {
  return `revert after ${revert.after} unless confirmed from a new connection: ${revert.command}`;
}

/** What a preflight check makes sure of, in a few words. */
export function describeCheck(check: PreflightCheck): string {
  switch (check.kind) {
    case 'fstab':
      return `fstab ${check.path}: its filesystems and the boot entry's root= exist`;
    case 'mem_available':
      return `mem_available: at least ${check.size} available`;
    case 'disk':
      return `disk ${check.device}: ${check.serial !== undefined ? `serial ${check.serial}` : `ptuuid ${check.ptuuid ?? ''}`}`;
    case 'address_free':
      return `address_free: nobody answers for ${check.address} on ${check.interface}`;
    case 'grubenv':
      return 'grubenv: GRUB can write its environment block';
  }
}

function rebootPromise(step: RebootStep): string {
  const parts: string[] = [];
  if (step.into) {
    parts.push(
      `boots ${step.into.root} once (GRUB one-shot entry; a panic reboots after ${step.into.panicSeconds}s and a power-cycle brings the old root back), made the default once verified`,
    );
  } else if (step.expectRoot !== undefined) {
    parts.push(`comes back on ${step.expectRoot}`);
  }
  if (step.expectHostname !== undefined) parts.push(`comes back as ${step.expectHostname}`);
  return parts.join('; ');
}
