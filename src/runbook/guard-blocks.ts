// `guard:` on a phase: one dead-man over a block of phases (see GuardPlan). The loader makes
// it steps of its own: `N.0` arms it before the block's first step, the commit ends the
// block's last phase, and every phase of the block falls back through the firing first (a
// phase without a fallback of its own gets one that goes on to the runbook's). Inside the
// block a failing step falls back unless it says otherwise: its guard fires at once.
import { closest } from './errors.js';
import { formatDuration, parseDuration } from './duration.js';
import type { RawRunbook } from './schema.js';
import type { GuardPlan, GuardRevert, GuardStep, HostSpec, Phase, SourcePosition } from './types.js';

type Path = readonly PropertyKey[];
type Locate = (path: Path, key?: string) => SourcePosition;
type Report = (at: SourcePosition, message: string) => void;
type RawPhase = RawRunbook['phases'][number];

export interface GuardContext {
  hosts: Record<string, HostSpec>;
  /** The command as sent, its variables quoted (see interpolate.ts). */
  command(template: string, path: Path): string;
  /** The number the phase at this index is shown with. */
  phaseNumber(p: number): number;
  /** Whether the phase at this index was made for one host of a `for_each` phase. */
  isFleet(p: number): boolean;
  hasOuterFallback: boolean;
  locate: Locate;
  report: Report;
}

/** Puts the steps of every guard written in `rawPhases` into `phases` (made from them, index for index). */
export function addGuardSteps(phases: Phase[], rawPhases: readonly RawPhase[], context: GuardContext): void {
  const { locate, report } = context;
  const guardedBy = new Map<number, string>();
  for (const [p, rawPhase] of rawPhases.entries()) {
    const written = rawPhase.guard;
    if (written === undefined) continue;
    const at = ['phases', p, 'guard'] as const;
    const name = phases[p]!.name;
    // A `through` that is wrong was said; the rest is checked as if the guard were on this phase alone.
    const last = lastPhaseOf(phases, p, written.through, [...at, 'through'], context) ?? p;
    const block = phases.slice(p, last + 1);
    const fleet = block.findIndex((_, offset) => context.isFleet(p + offset));
    if (fleet !== -1) {
      report(
        locate(at),
        `phase '${name}' has a guard over for_each phase '${phases[p + fleet]!.name}': a guard spans named hosts' steps; put it on phases around the rollout`,
      );
      continue;
    }
    const overlap = block.findIndex((_, offset) => guardedBy.has(p + offset));
    if (overlap !== -1) {
      report(locate(at), `phase '${phases[p + overlap]!.name}' is already guarded by phase '${guardedBy.get(p + overlap)}': guards do not nest or overlap`);
      continue;
    }
    const afterMs = parseDuration(written.revert_after);
    if (afterMs < 10_000)
      report(locate([...at, 'revert_after']), `the guard of phase '${name}' needs a revert_after of at least 10s: time for its steps and the commit`);
    const knownHost = (host: string, where: Path, key?: string) => {
      if (host in context.hosts) return;
      const hint = closest(host, Object.keys(context.hosts));
      report(locate(where, key), `unknown host '${host}' in the guard of phase '${name}'${hint ? `; did you mean '${hint}'?` : '; declare it under hosts'}`);
    };
    const reverts = Object.entries(written.revert).map(([host, given]): GuardRevert => {
      knownHost(host, [...at, 'revert'], host);
      const run = typeof given === 'string' ? given : given.run;
      const also = typeof given === 'string' ? [] : given.also;
      also.forEach((other, index) => knownHost(other, [...at, 'revert', host, 'also', index]));
      const commandPath = typeof given === 'string' ? [...at, 'revert', host] : [...at, 'revert', host, 'run'];
      const { become, spareAccess } = context.hosts[host] ?? {};
      return {
        host,
        command: context.command(run, commandPath),
        ...(also.length > 0 ? { also } : {}),
        ...(become ? { become } : {}),
        ...(spareAccess ? { spare: spareAccess } : {}),
      };
    });
    const guard: GuardPlan = {
      id: name,
      afterMs,
      reverts,
      phases: block.map((phase) => phase.name),
      steps: block.flatMap((phase) => phase.steps.map((step) => step.id)),
    };
    block.forEach((phase, offset) => {
      guardedBy.set(p + offset, name);
      fallIntoGuard(phase, rawPhases[p + offset]!);
      phase.guard = guard;
    });
    const position = locate(at);
    const hostNames = reverts.map((revert) => revert.host).join(', ');
    const step = (action: GuardStep['action'], id: string, number: string, phase: Phase, title: string): GuardStep => ({
      id,
      number,
      phase: phase.name,
      title,
      at: { line: position.line, col: position.col },
      needsHands: false,
      onFail: action === 'fire' ? 'ask' : 'fallback',
      kind: 'guard',
      action,
      guard,
    });
    const first = phases[p]!;
    const end = phases[last]!;
    const commitNumber = `${context.phaseNumber(last)}.${end.steps.length + 1}`;
    first.steps.unshift(
      step(
        'arm',
        `${name}-guard`,
        `${context.phaseNumber(p)}.0`,
        first,
        `Arm the guard: ${hostNames} revert by themselves in ${formatDuration(afterMs)} unless it is committed`,
      ),
    );
    end.steps.push(step('commit', `${name}-guard-commit`, commitNumber, end, `Commit the guard: the changes stay on ${hostNames}`));
    block.forEach((phase, offset) => {
      const fire = step('fire', `${phase.name}-guard-fire`, `${context.phaseNumber(p + offset)}.F0`, phase, `Fire the guard: ${hostNames} revert now`);
      if (phase.fallback === undefined) {
        phase.fallback = [fire];
        phase.fallbackThen = context.hasOuterFallback ? 'outer' : 'stop';
      } else phase.fallback.unshift(fire);
    });
  }
}

/** A spare way in is started by a guard: on a host no guard names, nothing would start it. */
export function checkSpareAccess(phases: readonly Phase[], hosts: Record<string, HostSpec>, locate: Locate, report: Report): void {
  const guarded = new Set(phases.flatMap((phase) => phase.guard?.reverts.map((revert) => revert.host) ?? []));
  for (const [name, spec] of Object.entries(hosts)) {
    if (spec.spareAccess === undefined || guarded.has(name)) continue;
    report(locate(['hosts', name, 'spare_access']), `host '${name}' has spare_access, which a guard starts, but no guard names it under revert`);
  }
  for (const [name, spec] of Object.entries(hosts)) {
    if (spec.spareAccess !== undefined && spec.spareAccess.port === (spec.port ?? 22)) {
      report(
        locate(['hosts', name, 'spare_access', 'port']),
        `the spare way in to '${name}' needs a port of its own, not the one its main SSH server listens on`,
      );
    }
  }
  // `also`: other names of the machine, each with one spare way in at most (a login to it tries one spare port).
  const spareOf = new Map(Object.entries(hosts).flatMap(([name, spec]) => (spec.spareAccess !== undefined ? [[name, name] as const] : [])));
  for (const [name, spec] of Object.entries(hosts)) {
    for (const [index, other] of (spec.spareAccess?.also ?? []).entries()) {
      const at = locate(['hosts', name, 'spare_access', 'also', index]);
      if (other === name) {
        report(
          at,
          `the spare way in to '${name}' names '${name}' itself under also: list the other hosts that reach this machine once the block moved its addresses`,
        );
      } else if (!(other in hosts)) {
        const hint = closest(other, Object.keys(hosts));
        report(at, `unknown host '${other}' in the spare_access of '${name}'${hint ? `; did you mean '${hint}'?` : '; declare it under hosts'}`);
      } else if (spareOf.has(other)) {
        const first = spareOf.get(other)!;
        report(
          at,
          `host '${other}' already has ${first === other ? 'a spare way in of its own' : `the spare way in to '${first}'`}: a login to it tries one spare port, so name it under one spare_access only`,
        );
      } else spareOf.set(other, name);
    }
  }
}

function lastPhaseOf(phases: Phase[], p: number, through: string | undefined, at: Path, context: GuardContext): number | undefined {
  if (through === undefined) return p;
  const index = phases.findIndex((phase, q) => q >= p && phase.name === through);
  if (index !== -1) return index;
  const earlier = phases.findIndex((phase) => phase.name === through);
  const hint = closest(
    through,
    phases.slice(p).map((phase) => phase.name),
  );
  context.report(
    context.locate(at),
    earlier !== -1
      ? `the guard of phase '${phases[p]!.name}' goes through '${through}', which comes before it; through names a later phase`
      : `unknown phase '${through}' in the guard of phase '${phases[p]!.name}'${hint ? `; did you mean '${hint}'?` : ''}`,
  );
  return undefined;
}

/** Inside a guard, a failing step falls back (firing the guard) unless its `on_fail` says otherwise. */
function fallIntoGuard(phase: Phase, rawPhase: RawPhase): void {
  phase.steps = phase.steps.map((step, s) => {
    const rawStep = rawPhase.steps[s];
    const written = rawStep !== undefined && 'on_fail' in rawStep && rawStep.on_fail !== undefined;
    return 'onFail' in step && !written && step.kind !== 'checkpoint' ? { ...step, onFail: 'fallback' } : step;
  });
}
