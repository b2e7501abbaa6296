// Captured values in the loader: which step captures each name, where {{name}} of one may
// stand, and that no step uses a value before the step that captures it. Commands keep
// their {{name}} as written (as they do for secrets); the value goes in as a command is
// sent, quoted for where it stands (see the runner's reveal).
import type { RawCapture } from './capture-schema.js';
import { interpolateCommand } from './interpolate.js';
import { referenceSites } from './shell-context.js';
import type { Capture, SourcePosition } from './types.js';

type Path = readonly PropertyKey[];

/** A captured name: the step that captures it, where in the run it comes, and where it is written. */
export interface CaptureSite {
  stepId: string;
  /** The step's number as people see it (2.3, F1). */
  number: string;
  track: 'main' | 'fallback';
  /** Its place in its track. */
  order: number;
  at: SourcePosition;
}

interface RawStepLike {
  id?: string | undefined;
  capture?: RawCapture | undefined;
}

interface RawBookLike {
  phases: ReadonlyArray<{ name: string; steps: ReadonlyArray<RawStepLike | object> }>;
  fallback?: ReadonlyArray<RawStepLike | object> | undefined;
}

/** The keys whose text is a command a captured value may stand in (sent with the value put in). */
const COMMAND_KEYS = new Set(['run', 'check', 'local']);
/** The keys whose text is for people, shown with the values put in once they are captured. */
const TEXT_KEYS = new Set(['title', 'checkpoint', 'note']);

export const CAPTURE_PLACES =
  "run, check and local commands, a wait step's command, titles, checkpoint and note texts, the destructive: text of run and local steps, and an edit step's changes";

/** How many segments of `path` lead to its step: phases.P.steps.S, or fallback.S. */
function stepPathLength(path: Path): number {
  return path[0] === 'fallback' ? 2 : 4;
}

function isEditStep(raw: RawBookLike, path: Path): boolean {
  const step = path[0] === 'fallback' ? raw.fallback?.[path[1] as number] : raw.phases[path[1] as number]?.steps[path[3] as number];
  return typeof step === 'object' && step !== null && 'edit' in step;
}

/** The step a path into the raw runbook belongs to: its track and place there. */
function stepAt(raw: RawBookLike, path: Path): { track: 'main' | 'fallback'; order: number; number: string } | null {
  if (path[0] === 'phases' && typeof path[1] === 'number' && path[2] === 'steps' && typeof path[3] === 'number') {
    const before = raw.phases.slice(0, path[1]).reduce((sum, phase) => sum + phase.steps.length, 0);
    return { track: 'main', order: before + path[3], number: `${path[1] + 1}.${path[3] + 1}` };
  }
  if (path[0] === 'fallback' && typeof path[1] === 'number') return { track: 'fallback', order: path[1], number: `F${path[1] + 1}` };
  return null;
}

/**
 * Every `capture:` of the runbook's steps, by name. A name that is a variable or a secret,
 * or that two steps capture, is reported.
 */
export function collectCaptures(
  raw: RawBookLike,
  taken: { vars: Record<string, string>; secrets: Record<string, unknown> },
  locate: (path: Path, key?: string) => SourcePosition,
  report: (at: SourcePosition, message: string) => void,
  fleetOf: (phase: number) => string | undefined = () => undefined,
): Map<string, CaptureSite> {
  const sites = new Map<string, CaptureSite>();
  /** Where each name's first capture was written, so that the hosts of one for_each phase each capture it (into their own value). */
  const written = new Map<string, string>();
  const visit = (rawStep: RawStepLike | object, path: Path, defaultId: string) => {
    const given = (rawStep as RawStepLike).capture;
    if (given === undefined) return;
    const name = typeof given === 'string' ? given : given.name;
    const where = stepAt(raw, path)!;
    const at = locate(typeof given === 'string' ? [...path, 'capture'] : [...path, 'capture', 'name']);
    if (name in taken.vars) report(at, `'${name}' is both a variable (vars) and a value step ${where.number} captures; give the captured value another name`);
    else if (name in taken.secrets) report(at, `'${name}' is both a secret and a value step ${where.number} captures; give the captured value another name`);
    const fleet = path[0] === 'phases' ? fleetOf(path[1] as number) : undefined;
    const writtenAt = fleet !== undefined ? `${fleet}/${path.slice(2).join('/')}` : undefined;
    if (writtenAt !== undefined && written.get(name) === writtenAt) return;
    const earlier = sites.get(name);
    if (earlier) {
      report(
        at,
        `step ${where.number} captures '${name}', which step ${earlier.number} (line ${earlier.at.line}) captures already; give one of them another name`,
      );
      return;
    }
    // A for_each phase's host step: its id says the host (see load.ts).
    const host = fleet !== undefined ? `@${raw.phases[path[1] as number]!.name.slice(fleet.length + 2)}` : '';
    const stepId =
      fleet !== undefined ? `${(rawStep as RawStepLike).id ?? `${fleet}-${(path[3] as number) + 1}`}${host}` : ((rawStep as RawStepLike).id ?? defaultId);
    sites.set(name, { stepId, number: where.number, track: where.track, order: where.order, at });
    if (writtenAt !== undefined) written.set(name, writtenAt);
  };
  raw.phases.forEach((phase, p) => phase.steps.forEach((rawStep, s) => visit(rawStep, ['phases', p, 'steps', s], `${phase.name}-${s + 1}`)));
  (raw.fallback ?? []).forEach((rawStep, s) => visit(rawStep, ['fallback', s], `fallback-${s + 1}`));
  return sites;
}

/**
 * Why {{name}} of a captured value cannot stand at `path`, or null when it can: only in
 * commands and texts for people, and only after the step that captures it (a fallback
 * step may use any value the phases capture; if it was not captured, that step fails).
 */
export function capturePlaceProblem(raw: RawBookLike, site: CaptureSite, name: string, path: Path, parent: unknown): string | null {
  const key = path.at(-1);
  const isCommand =
    (typeof key === 'string' && COMMAND_KEYS.has(key)) || (key === 'command' && typeof parent === 'object' && parent !== null && 'wait' in parent);
  if (path[0] === 'hosts') {
    return `{{${name}}} is a value step ${site.number} captures, and a host's fields are settled before any step runs; host fields can use only variables (vars, --var)`;
  }
  if (key === 'revert') {
    return `{{${name}}} is a value step ${site.number} captures, and a revert command is written to its host before the step runs; read the value on the host instead`;
  }
  // `destructive: "{{disk_id}}"`: the text to type before a command runs, with the value put in.
  const isApproval = key === 'destructive' && typeof parent === 'object' && parent !== null && ('run' in parent || 'local' in parent);
  // An edit step's changes (not its path): the values go in as text when its diff is worked out.
  const isEditChange = path.length > stepPathLength(path) + 1 && isEditStep(raw, path) && path[stepPathLength(path)] !== 'edit';
  if (!isCommand && !isApproval && !isEditChange && !(typeof key === 'string' && TEXT_KEYS.has(key))) {
    return `{{${name}}} is a value step ${site.number} captures, which can stand only in ${CAPTURE_PLACES}`;
  }
  const user = stepAt(raw, path);
  if (user === null) return null;
  const usable = site.track === 'main' ? user.track === 'fallback' || site.order < user.order : user.track === 'fallback' && site.order < user.order;
  if (usable) return null;
  if (site.track === user.track && site.order === user.order) {
    return `{{${name}}} is captured by this step itself, once it has run; use it in a later step`;
  }
  return `{{${name}}} is captured by step ${site.number} (line ${site.at.line}), after this step; move that step earlier, or use the value in a later step`;
}

/** A step's `capture:` in its typed form; an invalid regular expression or JSON path is reported. */
export function normalizeCapture(
  given: RawCapture,
  path: Path,
  locate: (path: Path, key?: string) => SourcePosition,
  report: (at: SourcePosition, message: string) => void,
): Capture {
  if (typeof given === 'string') return { name: given, from: 'last_line' };
  const at = [...path, 'capture'];
  const ways = (['last_line', 'regex', 'json'] as const).filter((key) => given[key] !== undefined);
  if (ways.length > 1) {
    report(locate(at, ways[1]), `capture '${given.name}' says both '${ways[0]}' and '${ways[1]}'; a capture takes its value one way`);
    return { name: given.name, from: 'last_line' };
  }
  if (given.group !== undefined && given.regex === undefined) report(locate(at, 'group'), `'group' of capture '${given.name}' applies only with 'regex'`);
  if (given.regex !== undefined) {
    const group = given.group ?? 1;
    try {
      new RegExp(given.regex, 'm');
      // An alternative that matches the empty string tells how many groups the pattern has.
      const groups = new RegExp(`${given.regex}|`, 'm').exec('')!.length - 1;
      if (group > groups) {
        report(
          locate([...at, given.group !== undefined ? 'group' : 'regex']),
          `capture '${given.name}' takes group ${group}, but the regular expression has ${groups === 0 ? 'no group; put the part you want in (...)' : `only ${groups}`}`,
        );
      }
    } catch (error) {
      report(locate([...at, 'regex']), `the regular expression of capture '${given.name}' is not valid: ${(error as Error).message}`);
    }
    return { name: given.name, from: 'regex', pattern: given.regex, group };
  }
  if (given.json !== undefined) {
    if (!/^(?:[^.[\]]+|\[\d+\])(?:\.[^.[\]]+|\[\d+\])*$/.test(given.json)) {
      report(locate([...at, 'json']), `the JSON path of capture '${given.name}' is not of the form a.b[0].c`);
    }
    return { name: given.name, from: 'json', path: given.json };
  }
  return { name: given.name, from: 'last_line' };
}

/**
 * After the variables are put into a command, the captured values' references must stand
 * where they stood, quoted the same way: otherwise the value would go in somewhere else.
 */
export function capturedReferencesMoved(template: string, command: string, captured: ReadonlyMap<string, unknown>): boolean {
  const shape = (text: string) =>
    referenceSites(text)
      .filter((site) => captured.has(site.name))
      .map((site) => `${site.name}:${'quoting' in site ? site.quoting : 'problem'}`)
      .join(' ');
  return shape(template) !== shape(command);
}

/**
 * A command as sent: each captured value's {{name}} replaced by its value, quoted for where
 * it stands. A value that was not captured (its step skipped, marked done, or not reached)
 * fails closed: the command is not sent.
 */
export function revealCaptured(
  command: string,
  runbook: { captures: Record<string, string> },
  values: Record<string, string>,
  numberOf: (stepId: string) => string,
): string {
  const names = new Set(
    referenceSites(command)
      .map((site) => site.name)
      .filter((name) => Object.hasOwn(runbook.captures, name)),
  );
  if (names.size === 0) return command;
  const given: Record<string, string> = {};
  for (const name of names) {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined) {
      throw new Error(
        `{{${name}}} has no value: step ${numberOf(runbook.captures[name]!)} that captures it did not run (skipped, marked done or not reached); run it, or undo what depends on it by hand`,
      );
    }
    given[name] = value;
  }
  const { command: revealed, problems } = interpolateCommand(command, given);
  if (problems.length > 0) throw new Error(`a captured value cannot be put into the command: ${problems[0]!.message}`);
  return revealed;
}
