import { hasCheck, SKIP_DONE_WITHOUT_CHECK, withSkipDone } from './skip-done.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { core } from 'zod';
import { parseDuration } from './duration.js';
import { CAPTURE_KEYS } from './capture-schema.js';
import { capturedReferencesMoved, capturePlaceProblem, collectCaptures, normalizeCapture } from './captures.js';
import { closest, RunbookError, type RunbookProblem } from './errors.js';
import {
  compose,
  type Composition,
  type Locate,
  type LocateReference,
  type Path,
  parseSource,
  referenceLocator,
  type ReadInclude,
  sourceLocator,
  type SourceFile,
  type UnusedTemplate,
} from './compose.js';
import { composedHash, readIncludeFile } from './include-files.js';
import { gatherFleets } from './fleet-gather.js';
import type { HostSelection } from './fleet-settings.js';
import { editParts, resolveUndoSteps } from './edit-steps.js';
import { firstLine } from './first-line.js';
import { checkPhaseFallbacks, phaseFallbackOf } from './phase-fallback.js';
import { addGuardSteps, checkSpareAccess } from './guard-blocks.js';
import { interpolateCommand, interpolateText } from './interpolate.js';
import { REFERENCE } from './shell-context.js';
import { normalizeSecrets, secretPlaceProblem, secretReferencesMoved, secretVarRefusals } from './secrets.js';
import { describeWait } from './wait-text.js';
import { isTimeZone, localTimeZone } from './zoned-time.js';
import { withoutRefusedParts } from './schema-pruning.js';
import { valueLocator, withConditions } from './when-conditions.js';
import {
  CHECK_KINDS,
  checkSchemas,
  type CheckKind,
  hostKeySchema,
  hostSchema,
  phaseSchema,
  runbookSchema,
  sentinelSchema,
  siteSchema,
  STEP_KINDS,
  stepSchemas,
  type RawCheck,
  type RawHost,
  type RawRunbook,
  type RawStep,
  type StepKind,
} from './schema.js';
import {
  DEFAULT_SENTINEL_PORT,
  type HostKeyExpectation,
  type HostSpec,
  type Phase,
  type PreflightCheck,
  type RevertPlan,
  type Runbook,
  type SentinelAccess,
  type Site,
  type SourcePosition,
  type Step,
} from './types.js';

export interface LoadOptions {
  /** Values that override the runbook's `vars` (from --var name=value). */
  vars?: Record<string, string>;
  /** The upgrader's own time zone when the runbook names none. */
  localTimeZone?: string;
  /** The site's time zone when the runbook names no sites (the upgrader's preference); else the local one. */
  siteTimeZone?: string;
  /** The hosts every `for_each` phase runs on, of its group (--hosts, --limit). */
  select?: HostSelection;
  /** The ssh config's Host aliases, for groups written as { aliases: PATTERN }. */
  sshAliases?: () => string[];
}

/** Reads and checks a runbook file; throws RunbookError listing every problem with its position. */
export async function loadRunbook(file: string, options: LoadOptions = {}): Promise<Runbook> {
  const absolute = resolve(file);
  let source: string;
  try {
    source = await readFile(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new RunbookError([{ file, line: 1, col: 1, message: `cannot read the runbook: ${reason}` }]);
  }
  return parseRunbook(source, file, { ...options, absoluteFile: absolute });
}

export function parseRunbook(
  source: string,
  file: string,
  options: LoadOptions & { absoluteFile?: string; readInclude?: ReadInclude; parsed?: SourceFile } = {},
): Runbook {
  // `parsed`: the same source, parsed already (lint walks it for its warnings too).
  const main = options.parsed ?? parseSource(source, file, resolve(options.absoluteFile ?? file));
  const { doc, lineCounter } = main;
  const problems: RunbookProblem[] = [];
  const report = (at: SourcePosition & { file?: string }, message: string) => problems.push({ file, ...at, message });

  for (const error of doc.errors) {
    report(lineCounter.linePos(error.pos[0]), `invalid YAML: ${firstSentence(error.message)}`);
  }
  if (problems.length > 0) throw new RunbookError(problems);

  if (doc.contents === null) {
    report({ line: 1, col: 1 }, 'the runbook is empty; it needs at least `name` and `phases`');
    throw new RunbookError(problems);
  }
  const composition = compose(main, options.readInclude ?? readIncludeFile, {
    ...(options.select ? { select: options.select } : {}),
    ...(options.sshAliases ? { sshAliases: options.sshAliases } : {}),
  });
  if (composition.problems.length > 0) throw new RunbookError(sortProblems(composition.problems));
  phaseNumbering = fleetNumbering(composition);
  try {
    return checked(main, composition, problems, report, source, file, options);
  } finally {
    phaseNumbering = (p) => ({ number: p + 1 });
  }
}

/** The numbering of composed phases when some were made per host of a `for_each` phase. */
function fleetNumbering(composition: Composition): (p: number) => { number: number; host?: string } {
  if (composition.fleets.size === 0) return (p) => ({ number: p + 1 });
  const numbers: number[] = [];
  const count = Array.isArray((composition.raw as { phases?: unknown[] }).phases) ? (composition.raw as { phases: unknown[] }).phases.length : 0;
  for (let p = 0, number = 0; p < count; p += 1) {
    const fleet = composition.fleets.get(p);
    if (!(fleet && composition.fleets.get(p - 1)?.name === fleet.name)) number += 1;
    numbers.push(number);
  }
  return (p) => {
    const host = composition.fleets.get(p)?.host;
    return { number: numbers[p] ?? p + 1, ...(host !== undefined ? { host } : {}) };
  };
}

function checked(
  main: SourceFile,
  composition: Composition,
  problems: RunbookProblem[],
  report: (at: SourcePosition & { file?: string }, message: string) => void,
  source: string,
  file: string,
  options: LoadOptions & { absoluteFile?: string; readInclude?: ReadInclude },
): Runbook {
  const raw = composition.raw;
  const locate = sourceLocator(main, composition.sources);
  const locateReference = referenceLocator(main, composition.sources, locate);
  // Parsed once a process: zod's compiled fast path would cost more to build than it saves.
  const parsed = runbookSchema.safeParse(raw, { jitless: true });
  checkUnusedTemplates(composition.unused, main, report);
  const typed = (data: RawRunbook, say: Report) => {
    const normalized = normalize(
      data,
      composedHash(source, main.absolute, composition.includes),
      { ...options, absoluteFile: options.absoluteFile ?? file },
      { locate, locateReference, composition },
      say,
    );
    const sourceOf = (name?: string) => (name === undefined ? main.source : composition.includes.find((included) => included.file === name)?.source);
    return gatherFleets(
      withConditions(normalized, data, valueLocator(locate, sourceOf), say, (p) => composition.instances.get(p)?.params),
      composition.fleets,
      composition.groups,
    );
  };
  if (!parsed.success) {
    describeIssues(parsed.error.issues, [], raw, locate, report);
    // The rest is checked too, so that one round shows every problem of the file; what is
    // said of a place something was left out of follows from leaving it out.
    const pruned = withoutRefusedParts(runbookSchema, raw, parsed.error.issues);
    if (pruned !== null) {
      const changedAt = new Set(pruned.changed.map((path) => positionKey(locate(path))));
      try {
        typed(pruned.rest, (at, message) => {
          if (!changedAt.has(positionKey(at))) report(at, message);
        });
      } catch {
        // What the rest cannot show is shown once the schema's problems are put right.
      }
    }
    throw new RunbookError(sortProblems(uniqueProblems(problems)));
  }
  const runbook = typed(parsed.data, report);
  if (problems.length > 0) throw new RunbookError(sortProblems(problems));
  return runbook;
}

function positionKey(at: SourcePosition & { file?: string }): string {
  return `${at.file ?? ''}:${at.line}:${at.col}`;
}

function uniqueProblems(problems: readonly RunbookProblem[]): RunbookProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.file}:${problem.line}:${problem.col}:${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * A template no phase uses is checked as the phase it would make, so that its mistakes show
 * now and not on the night a phase first uses it. Its problems say "its step N", not a number
 * in the runbook.
 */
function checkUnusedTemplates(unused: readonly UnusedTemplate[], main: SourceFile, report: Report): void {
  for (const template of unused) {
    const parsed = phaseSchema.safeParse(template.phase, { jitless: true });
    if (parsed.success) continue;
    const locate = sourceLocator(main, [{ prefix: ['phases', 0], from: template.from, at: template.at }]);
    const inTemplate = (message: string) =>
      `template '${template.name}' (no phase uses it): ${message
        .replace(/\bfallback step 1\.F(\d+)/g, 'its fallback step F$1')
        .replace(/\bstep 1\.(\d+)/g, 'its step $1')
        .replace(/\bphase 1\b/g, 'the template')}`;
    describeIssues(parsed.error.issues, ['phases', 0], { phases: [template.phase] }, locate, (at, message) => report(at, inTemplate(message)));
  }
}

/** By line within each file, the files in the order their first problem came. */
/**
 * In order of file and position, each said once: the hosts of a `for_each` phase share
 * their template's lines, so a mistake there would otherwise be reported once per host.
 */
function sortProblems(problems: RunbookProblem[]): RunbookProblem[] {
  const files = [...new Set(problems.map((problem) => problem.file))];
  const seen = new Set<string>();
  const once = problems.filter((problem) => {
    const key = `${problem.file}:${problem.line}:${problem.col}:${problem.message.replace(/@[a-z0-9][a-z0-9_-]*/g, '@')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return once.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line || a.col - b.col);
}

function firstSentence(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
}

type Report = (at: SourcePosition & { file?: string }, message: string) => void;

const ENTITY_KEYS: Record<string, readonly string[]> = Object.fromEntries([...STEP_KINDS.map((kind) => [kind, Object.keys(stepSchemas[kind].shape)])]);

/** Reports issues, leaving out a missing key that an unknown key nearby is a typo of. */
function describeIssues(issues: readonly core.$ZodIssue[], prefix: Path, root: unknown, locate: Locate, report: Report) {
  const typoTargets = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = knownKeysAt(root, [...prefix, ...issue.path]);
    for (const key of issue.keys) {
      const hint = closest(key, known);
      if (hint) typoTargets.add(JSON.stringify([...issue.path, hint]));
    }
  }
  for (const issue of issues) {
    const explained = issue.code === 'invalid_type' && valueAt(root, [...prefix, ...issue.path]) === undefined && typoTargets.has(JSON.stringify(issue.path));
    if (!explained) describeIssue(issue, prefix, root, locate, report);
  }
}

function describeIssue(issue: core.$ZodIssue, prefix: Path, root: unknown, locate: Locate, report: Report): void {
  const path = [...prefix, ...issue.path];
  const where = describePath(path);
  switch (issue.code) {
    case 'invalid_union': {
      const value = valueAt(root, path);
      if (isStepPath(path) && isRecord(value)) return describeStepIssue(value, path, root, locate, report);
      if (isCheckPath(path) && isRecord(value)) return describeCheckIssue(value, path, root, locate, report);
      const first = issue.errors[0];
      if (first && first.length > 0) describeIssues(first, path, root, locate, report);
      else report(locate(path), `${where} has an unexpected form`);
      return;
    }
    case 'unrecognized_keys': {
      const known = knownKeysAt(root, path);
      for (const key of issue.keys) {
        const misplaced = isStepPath(path) ? misplacedStepKey(key, valueAt(root, path)) : undefined;
        if (misplaced) {
          report(locate(path, key), `${misplaced} (${where})`);
          continue;
        }
        const hint = closest(key, known);
        report(
          locate(path, key),
          `unknown key '${key}' in ${where}${hint ? `; did you mean '${hint}'?` : known.length > 0 ? `; allowed keys: ${known.join(', ')}` : ''}`,
        );
      }
      return;
    }
    case 'invalid_type': {
      const value = valueAt(root, path);
      if (value === undefined) {
        const parent = path.slice(0, -1);
        report(locate(parent), `${describePath(parent)} is missing the required key '${String(path.at(-1))}'`);
      } else {
        report(locate(path), `${where} must be ${article(issue.expected)}, not ${typeName(value)}`);
      }
      return;
    }
    case 'invalid_value':
      report(locate(path), `${where} must be one of ${issue.values.map((v) => String(v)).join(', ')}, not '${String(valueAt(root, path))}'`);
      return;
    case 'invalid_key': {
      const key = String(path.at(-1));
      const reason = issue.issues[0]?.message ?? 'it is not allowed';
      report(locate(path.slice(0, -1), key), `the name '${key}' in ${describePath(path.slice(0, -1))} is not valid: ${reason}`);
      return;
    }
    default:
      report(locate(path), `${where}: ${issue.message}`);
  }
}

function describeStepIssue(value: Record<string, unknown>, path: Path, root: unknown, locate: Locate, report: Report) {
  const kinds = STEP_KINDS.filter((kind) => kind in value);
  if (kinds.length === 0) {
    const hints = Object.keys(value)
      .map((key) => [key, closest(key, STEP_KINDS)] as const)
      .filter(([, hint]) => hint !== undefined);
    const hint = hints.length > 0 ? `; did you mean '${hints[0]![1]}' instead of '${hints[0]![0]}'?` : '';
    report(locate(path), `${describePath(path)} needs exactly one of ${STEP_KINDS.join(', ')}${hint}`);
    return;
  }
  if (kinds.length > 1) {
    report(locate(path, kinds[1]), `${describePath(path)} has both '${kinds[0]}' and '${kinds[1]}'; a step does one thing`);
    return;
  }
  const kind = kinds[0] as StepKind;
  const result = stepSchemas[kind].safeParse(value);
  if (result.success) return;
  describeIssues(result.error.issues, path, root, locate, report);
}

/** A check of a preflight step names itself by its one key, as a step does. */
function describeCheckIssue(value: Record<string, unknown>, path: Path, root: unknown, locate: Locate, report: Report) {
  const kinds = CHECK_KINDS.filter((kind) => kind in value);
  const keys = Object.keys(value);
  if (kinds.length === 0) {
    const hint = keys.map((key) => closest(key, CHECK_KINDS)).find((found) => found !== undefined);
    const named = keys.length > 0 ? `'${keys[0]}' is no check` : 'a check names none';
    report(locate(path, keys[0]), `${named} in ${describePath(path)}${hint ? `; did you mean '${hint}'?` : `; the checks are ${CHECK_KINDS.join(', ')}`}`);
    return;
  }
  if (kinds.length > 1) {
    report(locate(path, kinds[1]), `${describePath(path)} has both '${kinds[0]}' and '${kinds[1]}'; write each check as its own list item`);
    return;
  }
  const result = checkSchemas[kinds[0]!].safeParse(value);
  if (!result.success) describeIssues(result.error.issues, path, root, locate, report);
}

function isCheckPath(path: Path): boolean {
  return path.length >= 2 && path.at(-2) === 'checks' && typeof path.at(-1) === 'number' && isStepPath(path.slice(0, -2));
}

function isStepPath(path: Path): boolean {
  const n = path.length;
  return (
    (n === 4 && path[0] === 'phases' && (path[2] === 'steps' || path[2] === 'fallback') && typeof path[3] === 'number') ||
    (n === 2 && path[0] === 'fallback' && typeof path[1] === 'number')
  );
}

function knownKeysAt(root: unknown, path: Path): string[] {
  if (isStepPath(path)) {
    const value = valueAt(root, path);
    const kind = STEP_KINDS.find((k) => isRecord(value) && k in value);
    return [...(kind ? ENTITY_KEYS[kind]! : STEP_KINDS)];
  }
  if (isCheckPath(path)) {
    const value = valueAt(root, path);
    const kind = CHECK_KINDS.find((k) => isRecord(value) && k in value);
    return kind ? [kind] : [...CHECK_KINDS];
  }
  if (path.length > 0 && isCheckPath(path.slice(0, -1))) {
    const inner = checkSchemas[path.at(-1) as CheckKind]?.shape[path.at(-1) as never] as unknown as { shape?: Record<string, unknown> } | undefined;
    if (inner?.shape) return Object.keys(inner.shape);
  }
  const shape = shapeAt(path);
  return shape ? Object.keys(shape) : [];
}

function shapeAt(path: Path): Record<string, unknown> | undefined {
  if (path.length === 0) return runbookSchema.shape;
  if (path.length === 1 && path[0] === 'sites') return { upgrader: siteSchema, site: siteSchema };
  if (path.length === 2 && path[0] === 'sites') return siteSchema.shape;
  if (path.length === 2 && path[0] === 'hosts') return hostSchema.shape;
  if (path.length === 4 && path[0] === 'hosts' && path[2] === 'host_keys') return hostKeySchema.shape;
  if (path.length === 2 && path[0] === 'phases') return phaseSchema.shape;
  if (path.length === 1 && path[0] === 'sentinel') return sentinelSchema.shape;
  if (path.at(-1) === 'capture') return Object.fromEntries(CAPTURE_KEYS.map((key) => [key, true]));
  return undefined;
}

/**
 * How the composed phase at an index is numbered for people, while a runbook is read: the
 * hosts' phases of a `for_each` phase share its number, and their steps say the host.
 */
let phaseNumbering: (p: number) => { number: number; host?: string } = (p) => ({ number: p + 1 });

function describePath(path: Path): string {
  if (path.length === 0) return 'the runbook';
  if (path[0] === 'phases' && typeof path[1] === 'number') {
    const { number, host } = phaseNumbering(path[1]);
    const suffix = host !== undefined ? `@${host}` : '';
    const phase = `phase ${number}`;
    if (path.length === 2) return phase;
    if (path[2] === 'steps' && typeof path[3] === 'number') {
      const step = `step ${number}.${path[3] + 1}${suffix}`;
      return path.length === 4 ? step : `'${path.slice(4).join('.')}' of ${step}`;
    }
    if (path[2] === 'fallback' && typeof path[3] === 'number') {
      const step = `fallback step ${number}.F${path[3] + 1}${suffix}`;
      return path.length === 4 ? step : `'${path.slice(4).join('.')}' of ${step}`;
    }
    return `'${path.slice(2).join('.')}' of ${phase}`;
  }
  if (path[0] === 'fallback' && typeof path[1] === 'number') {
    const step = `fallback step F${path[1] + 1}`;
    return path.length === 2 ? step : `'${path.slice(2).join('.')}' of ${step}`;
  }
  if (path[0] === 'hosts' && path.length >= 2) {
    return path.length === 2 ? `host '${String(path[1])}'` : `'${path.slice(2).join('.')}' of host '${String(path[1])}'`;
  }
  return `'${path.join('.')}'`;
}

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const segment of path) {
    if (!isRecord(value) && !Array.isArray(value)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${article(typeof value)} (${JSON.stringify(value)})`;
}

function article(expected: string): string {
  const named: Record<string, string> = { object: 'a mapping', array: 'a list', int: 'a whole number' };
  return named[expected] ?? `${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;
}

// ---------------------------------------------------------------------------------------------
// From the validated raw form to the typed runbook, checking what the schema cannot.

function normalize(
  raw: RawRunbook,
  hash: string,
  options: LoadOptions & { absoluteFile: string },
  { locate, locateReference, composition }: { locate: Locate; locateReference: LocateReference; composition: Composition },
  report: Report,
): Runbook {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.vars ?? {})) vars[name] = String(value);
  const secrets = normalizeSecrets(raw.secrets, vars, (path, message, key) => report(locate(path, key), message));
  for (const refusal of secretVarRefusals(options.vars ?? {}, secrets)) report(locate(['secrets', refusal.name]), refusal.message);
  for (const [name, value] of Object.entries(options.vars ?? {})) if (!(name in secrets)) vars[name] = value;
  /** The variables where text is being read: the runbook's, and in a template's phase its params too. */
  let inScope = vars;

  const localZone = () => options.localTimeZone ?? localTimeZone();
  const site = (which: 'upgrader' | 'site'): Site => {
    const given = raw.sites?.[which];
    if (!given) return { name: which === 'upgrader' ? 'here' : 'site', tz: which === 'site' ? (options.siteTimeZone ?? localZone()) : localZone() };
    if (!isTimeZone(given.tz)) report(locate(['sites', which, 'tz']), `'${given.tz}' is not a known IANA time zone (e.g. Asia/Taipei)`);
    return { name: given.name, tz: given.tz };
  };
  const sites = { upgrader: site('upgrader'), site: site('site') };
  const captured = collectCaptures(raw, { vars, secrets }, locate, report, (p) => composition.fleets.get(p)?.name);

  const checkText = (template: string, path: Path) => {
    for (const match of template.matchAll(REFERENCE)) {
      const name = match[1]!;
      if (name in secrets) {
        const problem = secretPlaceProblem(name, path, valueAt(raw, path.slice(0, -1)));
        if (problem !== null) report(locateReference(path, template, match.index), `${describePath(path)}: ${problem}`);
      } else if (captured.has(name)) {
        const problem = capturePlaceProblem(raw, captured.get(name)!, name, path, valueAt(raw, path.slice(0, -1)));
        if (problem !== null) report(locateReference(path, template, match.index), `${describePath(path)}: ${problem}`);
      } else if (!(name in inScope)) {
        const hint = closest(name, Object.keys(inScope));
        report(locateReference(path, template, match.index), `unknown variable '${name}' in ${describePath(path)}${hint ? `; did you mean '${hint}'?` : ''}`);
      }
    }
  };
  /** A shell command with its variables quoted for where they stand; what cannot be quoted is reported. */
  const command = (template: string, path: Path): string => {
    const { command: text, problems } = interpolateCommand(template, inScope);
    for (const problem of problems) report(locateReference(path, template, problem.index), `${describePath(path)}: ${problem.message}`);
    if (problems.length === 0 && (secretReferencesMoved(template, text, secrets) || capturedReferencesMoved(template, text, captured))) {
      report(
        locate(path),
        `${describePath(path)}: once the variables are put in, nightshift cannot tell for sure where its secrets stand (a variable's value holds {{...}} or changes how the shell reads the rest); write that part more simply`,
      );
    }
    return text;
  };

  const phaseNameOf = (p: number) => composition.fleets.get(p)?.name ?? raw.phases[p]!.name;
  const phaseOrder = [...new Set(raw.phases.map((_, p) => phaseNameOf(p)))];
  /** The number a phase is shown with: a for_each phase's hosts share theirs. */
  const phaseNumbers = raw.phases.map((_, p) => phaseOrder.indexOf(phaseNameOf(p)) + 1);
  const hosts: Record<string, HostSpec> = {};
  for (const [name, spec] of Object.entries(raw.hosts ?? {})) {
    forEachString(spec, ['hosts', name], checkText);
    hosts[name] = hostSpec(name, spec ?? {}, ['hosts', name], phaseOrder, locate, report, vars);
  }
  // A group's member not declared under hosts is an ssh alias of that name (those no phase selected are left out).
  const selected = new Set([...composition.fleets.values()].flatMap((fleet) => fleet.hosts));
  for (const [group, members] of Object.entries(composition.groups)) {
    for (const member of members) {
      if (selected.has(member)) hosts[member] ??= hostSpec(member, { alias: member }, ['groups', group], phaseOrder, locate, report, vars);
    }
  }

  const usedIds = new Map<string, Path>();
  const toStep = (rawStep: RawStep, path: Path, number: string, phase: string | null, defaultId: string): Step => {
    const id = rawStep.id ?? defaultId;
    const earlier = usedIds.get(id);
    if (earlier) {
      const template = rawStep.id !== undefined && path[0] === 'phases' ? composition.instances.get(path[1] as number)?.template : undefined;
      const hint =
        template !== undefined
          ? `; an id written in template '${template}' is the same in every phase that uses it: leave it out (each phase numbers its own)`
          : '';
      report(locate(path, 'id'), `step id '${id}' is already used by ${describePath(earlier)}${hint}`);
    }
    usedIds.set(id, path);
    const { line, col } = locate(path);
    const at = { line, col };
    forEachString(rawStep, path, checkText);
    /** `key`: the field that names the host (`host`, or the step kind for a reboot or a preflight). */
    const checkHost = (host: string, key = 'host') => {
      if (!(host in hosts)) {
        const hint = closest(host, Object.keys(hosts));
        report(locate([...path, key]), `unknown host '${host}' in ${describePath(path)}${hint ? `; did you mean '${hint}'?` : '; declare it under hosts'}`);
      }
    };
    const text = (value: string) => interpolateText(value, inScope);
    const acting = () => ({
      ...('timeout' in rawStep && rawStep.timeout ? { timeoutMs: parseDuration(rawStep.timeout) } : {}),
      onFail: ('on_fail' in rawStep && rawStep.on_fail) || 'ask',
    });
    const base = { id, number, phase, at, needsHands: rawStep.needs === 'hands' };
    /** The step's `become`, else its host's: sudo, or nothing. */
    const becomeOn = (host: string): { become?: 'sudo' } => {
      const given = 'become' in rawStep ? rawStep.become : undefined;
      const effective = given === undefined ? hosts[host]?.become : given === 'sudo' ? 'sudo' : undefined;
      return effective === 'sudo' ? { become: 'sudo' } : {};
    };
    /** Text that goes into a GRUB menu entry, where quotes, $, ; and line breaks would be GRUB script. */
    const grubWord = (template: string, at: Path, spaces = false): string => {
      const value = text(template);
      const allowed = spaces ? GRUB_ARGS : GRUB_WORD;
      if (!referencesUnknown(template, inScope) && !allowed.test(value)) {
        report(
          locate(at),
          `${describePath(at)} is ${JSON.stringify(value)}, but it goes into a GRUB menu entry, where only letters, digits${spaces ? ', spaces' : ''} and . , : = / + @ % ~ - _ are safe`,
        );
      }
      return value;
    };
    if ('run' in rawStep) {
      checkHost(rawStep.host);
      const confirmText = destructiveText(rawStep.destructive, rawStep.host, text);
      return {
        ...base,
        ...acting(),
        kind: 'run',
        title: text(rawStep.title ?? firstLine(rawStep.run)),
        host: rawStep.host,
        command: command(rawStep.run, [...path, 'run']),
        detached: rawStep.attach !== false,
        ...becomeOn(rawStep.host),
        ...(rawStep.check !== undefined ? { check: command(rawStep.check, [...path, 'check']) } : {}),
        ...(confirmText !== undefined ? { confirmText } : {}),
        ...revertPlan(rawStep, path, locate, report, command),
        ...(rawStep.capture !== undefined ? { capture: normalizeCapture(rawStep.capture, path, locate, report) } : {}),
      };
    }
    if ('upload' in rawStep) {
      checkHost(rawStep.host);
      const localPath = resolve(dirname(options.absoluteFile), text(rawStep.upload));
      const to = text(rawStep.to);
      return {
        ...base,
        ...acting(),
        kind: 'upload',
        title: text(rawStep.title ?? `upload ${basename(localPath)} to ${rawStep.host}`),
        host: rawStep.host,
        localPath,
        remotePath: to.endsWith('/') ? `${to}${basename(localPath)}` : to,
        ...(rawStep.mode !== undefined ? { mode: parseInt(rawStep.mode, 8) } : {}),
        ...becomeOn(rawStep.host),
      };
    }
    if ('reboot' in rawStep) {
      checkHost(rawStep.reboot, 'reboot');
      return {
        ...base,
        ...acting(),
        kind: 'reboot',
        title: text(rawStep.title ?? `reboot ${rawStep.reboot}`),
        host: rawStep.reboot,
        ...becomeOn(rawStep.reboot),
        command: rawStep.command !== undefined ? command(rawStep.command, [...path, 'command']) : DEFAULT_REBOOT_COMMAND,
        ...(rawStep.hostname !== undefined ? { expectHostname: text(rawStep.hostname) } : {}),
        ...(rawStep.root !== undefined || rawStep.into !== undefined ? { expectRoot: text(rawStep.root ?? rawStep.into!.root) } : {}),
        ...(rawStep.into !== undefined
          ? {
              into: {
                root: text(rawStep.into.root),
                kernel: grubWord(rawStep.into.kernel ?? '/vmlinuz', [...path, 'into', 'kernel']),
                initrd: grubWord(rawStep.into.initrd ?? '/initrd.img', [...path, 'into', 'initrd']),
                ...(rawStep.into.args !== undefined ? { args: grubWord(rawStep.into.args, [...path, 'into', 'args'], true) } : {}),
                panicSeconds: Math.max(1, Math.round(parseDuration(rawStep.into.panic ?? '10s') / 1000)),
              },
            }
          : {}),
        timeoutMs: rawStep.timeout ? parseDuration(rawStep.timeout) : 5 * 60_000,
      };
    }
    if ('preflight' in rawStep) {
      checkHost(rawStep.preflight, 'preflight');
      const checks = rawStep.checks.map((check, index) => preflightCheck(check, [...path, 'checks', index], locate, report, text));
      const identifiers = checks.flatMap((check) => (check.kind === 'disk' ? [check.serial ?? check.ptuuid ?? ''] : []));
      return {
        ...base,
        ...acting(),
        kind: 'preflight',
        title: text(rawStep.title ?? `preflight ${rawStep.preflight}: ${checks.map((check) => check.kind).join(', ')}`),
        host: rawStep.preflight,
        ...becomeOn(rawStep.preflight),
        checks,
        ...(identifiers.length > 0 ? { confirmText: identifiers.join(' ') } : {}),
      };
    }
    if ('local' in rawStep) {
      const confirmText = destructiveText(rawStep.destructive, 'local', text);
      return {
        ...base,
        ...acting(),
        kind: 'local',
        title: text(rawStep.title ?? firstLine(rawStep.local)),
        command: command(rawStep.local, [...path, 'local']),
        ...(rawStep.check !== undefined ? { check: command(rawStep.check, [...path, 'check']) } : {}),
        ...(confirmText !== undefined ? { confirmText } : {}),
        ...(rawStep.capture !== undefined ? { capture: normalizeCapture(rawStep.capture, path, locate, report) } : {}),
      };
    }
    if ('checkpoint' in rawStep) {
      return {
        ...base,
        ...acting(),
        kind: 'checkpoint',
        title: text(rawStep.title ?? firstLine(rawStep.checkpoint)),
        text: text(rawStep.checkpoint),
        by: rawStep.by ?? 'upgrader',
        ...(rawStep.confirm !== undefined ? { confirmText: text(rawStep.confirm) } : {}),
        ...(rawStep.per === 'batch' ? { perBatch: true } : {}),
      };
    }
    if ('wait' in rawStep) {
      checkHost(rawStep.host);
      const until = waitCondition(rawStep, path, locate, report, command);
      return {
        ...base,
        ...acting(),
        kind: 'wait',
        title: text(rawStep.title ?? `wait until ${describeWait(until)} on ${rawStep.host}`),
        host: rawStep.host,
        until,
        timeoutMs: rawStep.timeout ? parseDuration(rawStep.timeout) : 5 * 60_000,
        everyMs: rawStep.every ? parseDuration(rawStep.every) : 2000,
        ...becomeOn(rawStep.host),
      };
    }
    if ('edit' in rawStep) {
      checkHost(rawStep.host);
      const edit = editParts(rawStep, path, locate, report, text);
      return {
        ...base,
        ...acting(),
        kind: 'edit',
        title: text(rawStep.title ?? `edit ${edit.path} on ${rawStep.host}`),
        host: rawStep.host,
        ...becomeOn(rawStep.host),
        ...edit,
      };
    }
    if ('undo' in rawStep) {
      return { ...base, ...acting(), kind: 'undo', title: rawStep.title !== undefined ? text(rawStep.title) : '', stepId: rawStep.undo, host: '', path: '' };
    }
    if ('note' in rawStep) {
      return { ...base, kind: 'note', title: text(rawStep.title ?? firstLine(rawStep.note)), text: text(rawStep.note) };
    }
    if ('power_cycle' in rawStep) {
      // A local step: the host's power command, approved by typing the host's name.
      const host = rawStep.power_cycle;
      checkHost(host, 'power_cycle');
      const power = hosts[host]?.power;
      if (host in hosts && power === undefined) {
        report(locate([...path, 'power_cycle']), `${describePath(path)} power-cycles '${host}', which has no 'power' command under hosts`);
      }
      return {
        ...base,
        ...acting(),
        kind: 'local',
        title: text(rawStep.title ?? `Power-cycle ${host} out of band`),
        command: power ?? 'false',
        confirmText: host,
      };
    }
    throw new Error('a step kind the loader does not know');
  };

  const phaseNames = new Map<string, number>();
  /** The step with `skip_done` read from it, its phase, then the runbook (see skip-done.ts). */
  const skipDone = (step: Step, rawStep: RawStep, path: Path, phaseFlag?: boolean): Step => {
    const own = 'skip_done' in rawStep ? rawStep.skip_done : undefined;
    if (own === true && !hasCheck(step)) report(locate([...path, 'skip_done']), `${describePath(path)}: ${SKIP_DONE_WITHOUT_CHECK}`);
    return withSkipDone(step, [own, phaseFlag, raw.skip_done]);
  };
  const phases: Phase[] = raw.phases.map((rawPhase, p) => {
    const fleet = composition.fleets.get(p);
    const name = phaseNameOf(p);
    const earlier = phaseNames.get(name);
    if (earlier !== undefined && !(fleet && composition.fleets.get(p - 1)?.name === name)) {
      report(locate(['phases', p, 'name']), `phase name '${name}' is already used by phase ${phaseNumbers[earlier]}`);
    }
    phaseNames.set(name, p);
    const instance = composition.instances.get(p);
    inScope = instance ? { ...vars, ...instance.params } : vars;
    if (instance && rawPhase.title !== undefined) checkText(rawPhase.title, ['phases', p, 'title']);
    const n = phaseNumbers[p]!;
    /** A for_each phase's step is made for one host: its id and number say which. */
    const onHost = (rawStep: RawStep, id: string): RawStep => (fleet ? { ...rawStep, id: `${rawStep.id ?? id}@${fleet.host}` } : rawStep);
    const suffix = fleet ? `@${fleet.host}` : '';
    const made = (step: Step): Step => (fleet ? { ...step, instanceOf: { host: fleet.host, baseId: step.id.slice(0, -suffix.length) } } : step);
    const phase: Phase = {
      name,
      title: instance && rawPhase.title !== undefined ? interpolateText(rawPhase.title, inScope) : (rawPhase.title ?? name),
      steps: rawPhase.steps.map((rawStep, s) =>
        made(
          skipDone(
            toStep(onHost(rawStep, `${name}-${s + 1}`), ['phases', p, 'steps', s], `${n}.${s + 1}${suffix}`, name, `${name}-${s + 1}`),
            rawStep,
            ['phases', p, 'steps', s],
            rawPhase.skip_done,
          ),
        ),
      ),
      ...phaseFallbackOf(rawPhase, (rawStep, s) =>
        made(
          skipDone(
            toStep(onHost(rawStep, `${name}-fallback-${s + 1}`), ['phases', p, 'fallback', s], `${n}.F${s + 1}${suffix}`, name, `${name}-fallback-${s + 1}`),
            rawStep,
            ['phases', p, 'fallback', s],
          ),
        ),
      ),
      ...(instance?.template !== undefined ? { template: instance.template } : {}),
    };
    if (!fleet) {
      rawPhase.steps.forEach((rawStep, s) => {
        if ('per' in rawStep && rawStep.per === 'batch') {
          report(
            locate(['phases', p, 'steps', s, 'per']),
            `${describePath(['phases', p, 'steps', s])}: per: batch belongs in a for_each phase (its hosts go in batches)`,
          );
        }
      });
    }
    inScope = vars;
    return phase;
  });
  checkPhaseFallbacks(phases, raw.phases, raw.fallback ?? [], locate, report);
  const fallback = (raw.fallback ?? []).map((rawStep, s) =>
    skipDone(toStep(rawStep, ['fallback', s], `F${s + 1}`, null, `fallback-${s + 1}`), rawStep, ['fallback', s]),
  );
  for (const [s, step] of fallback.entries()) {
    if ('onFail' in step && step.onFail === 'fallback') {
      report(locate(['fallback', s, 'on_fail']), `fallback step F${s + 1} cannot fall back again; use ask or continue`);
    }
  }
  resolveUndoSteps([...phases.flatMap((phase) => [...phase.steps, ...(phase.fallback ?? [])]), ...fallback], report);
  if (fallback.length === 0) {
    for (const [p, phase] of phases.entries()) {
      if (phase.fallback !== undefined && phase.fallback.length > 0) continue;
      for (const [s, step] of phase.steps.entries()) {
        if ('onFail' in step && step.onFail === 'fallback') {
          report(locate(['phases', p, 'steps', s, 'on_fail']), `step ${step.number} says on_fail: fallback but the runbook has no 'fallback' steps`);
        }
      }
    }
  }

  raw.phases.forEach((rawPhase, p) => forEachString(rawPhase.guard, ['phases', p, 'guard'], checkText));
  addGuardSteps(phases, raw.phases, {
    hosts,
    command,
    phaseNumber: (p) => phaseNumbers[p]!,
    isFleet: (p) => composition.fleets.has(p),
    hasOuterFallback: fallback.length > 0,
    locate,
    report,
  });
  checkSpareAccess(phases, hosts, locate, report);

  let sentinel: SentinelAccess | undefined;
  if (raw.sentinel) {
    const given = raw.sentinel;
    if (!(given.host in hosts)) {
      const hint = closest(given.host, Object.keys(hosts));
      report(locate(['sentinel', 'host']), `unknown host '${given.host}' in 'sentinel'${hint ? `; did you mean '${hint}'?` : '; declare it under hosts'}`);
    }
    if (given.notify === 'write' && given.user === undefined) {
      report(locate(['sentinel', 'notify']), "notify: write needs 'user', the user whose terminal gets the message");
    }
    sentinel = {
      host: given.host,
      port: given.port ?? DEFAULT_SENTINEL_PORT,
      notify: given.notify ?? 'wall',
      ...(given.user !== undefined ? { user: given.user } : {}),
      everyMs: given.every ? parseDuration(given.every) : 5 * 60_000,
    };
  }

  return {
    name: raw.name,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    file: options.absoluteFile,
    hash,
    ...(composition.includes.length > 0 ? { includes: composition.includes.map((included) => included.absolute) } : {}),
    sites,
    phaseOrder,
    hosts,
    vars,
    secrets,
    phases,
    fallback,
    ...(sentinel ? { sentinel } : {}),
    captures: Object.fromEntries([...captured].map(([name, site]) => [name, site.stepId])),
  };
}

type CommandOf = (template: string, path: Path) => string;

function referencesUnknown(template: string, vars: Record<string, string>): boolean {
  return [...template.matchAll(REFERENCE)].some((match) => !(match[1]! in vars));
}

/** Calls `visit` with every string inside `value` (a step, a host) and its path. */
function forEachString(value: unknown, path: Path, visit: (text: string, path: Path) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((item, index) => forEachString(item, [...path, index], visit));
  else if (isRecord(value)) for (const [key, item] of Object.entries(value)) forEachString(item, [...path, key], visit);
}

const GRUB_WORD = /^[A-Za-z0-9_.,:=/+@%~-]+$/;
const GRUB_ARGS = /^[A-Za-z0-9_.,:=/+@%~ -]*$/;

const DEFAULT_REBOOT_COMMAND = 'systemctl reboot || reboot';

function hostSpec(name: string, spec: RawHost, path: Path, phaseOrder: string[], locate: Locate, report: Report, vars: Record<string, string>): HostSpec {
  if (spec.appears_in !== undefined && !phaseOrder.includes(spec.appears_in)) {
    const hint = closest(spec.appears_in, phaseOrder);
    report(locate([...path, 'appears_in']), `unknown phase '${spec.appears_in}' in appears_in of host '${name}'${hint ? `; did you mean '${hint}'?` : ''}`);
  }
  const hostKeys = spec.host_keys?.map((given, index): HostKeyExpectation => {
    const at = [...path, 'host_keys', index];
    for (const bound of ['from', 'until'] as const) {
      const phase = given[bound];
      if (phase !== undefined && !phaseOrder.includes(phase)) {
        const hint = closest(phase, phaseOrder);
        report(locate([...at, bound]), `unknown phase '${phase}' in ${describePath(at)}${hint ? `; did you mean '${hint}'?` : ''}`);
      }
    }
    if (given.from && given.until && phaseOrder.indexOf(given.from) > phaseOrder.indexOf(given.until)) {
      report(locate(at), `${describePath(at)} is accepted from '${given.from}' until '${given.until}', which comes earlier`);
    }
    let fingerprint = given.fingerprint;
    if (given.key !== undefined) {
      const computed = keyFingerprint(given.key);
      if (computed === null) report(locate([...at, 'key']), `${describePath(at)}: the key is not "type base64" as in a .pub file`);
      else if (fingerprint !== undefined && fingerprint !== computed) {
        report(locate([...at, 'fingerprint']), `${describePath(at)}: the fingerprint does not belong to the key (its fingerprint is ${computed})`);
      } else fingerprint = computed;
    }
    if (given.key === undefined && fingerprint === undefined) {
      report(locate(at), `${describePath(at)} needs the key or its fingerprint`);
    }
    return {
      fingerprint: fingerprint ?? '',
      ...(given.key !== undefined ? { key: given.key.trim().split(/\s+/).slice(0, 2).join(' ') } : {}),
      ...(given.from !== undefined ? { from: given.from } : {}),
      ...(given.until !== undefined ? { until: given.until } : {}),
    };
  });
  // Host fields are no shell text, but they end up in ssh settings and on screens: one word each.
  const field = (key: 'alias' | 'address' | 'user' | 'identity_file' | 'proxy_jump' | 'run_dir'): string | undefined => {
    const given = spec[key];
    if (given === undefined) return undefined;
    const value = interpolateText(given, vars);
    if (referencesUnknown(given, vars)) return value;
    const flaw = /^-/.test(value)
      ? 'starts with -'
      : /\p{Cc}/u.test(value)
        ? 'holds a control character'
        : key !== 'identity_file' && key !== 'run_dir' && /\s/.test(value)
          ? 'holds a space'
          : null;
    if (flaw !== null) {
      const from = value === given ? '' : ` (from ${given})`;
      report(locate([...path, key]), `'${key}' of host '${name}' is ${JSON.stringify(value)}${from}, which ${flaw}; it must be one word`);
    }
    return value;
  };
  const [alias, address, user, identityFile, proxyJump, runDir] = (['alias', 'address', 'user', 'identity_file', 'proxy_jump', 'run_dir'] as const).map(field);
  return {
    name,
    alias: alias ?? name,
    ...(address !== undefined ? { address } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(spec.port !== undefined ? { port: spec.port } : {}),
    ...(identityFile !== undefined ? { identityFile } : {}),
    ...(proxyJump !== undefined ? { proxyJump } : {}),
    ...(runDir !== undefined ? { runDir } : {}),
    ...(hostKeys !== undefined ? { hostKeys } : {}),
    ...(spec.become === 'sudo' ? { become: 'sudo' as const } : {}),
    ...(spec.become_pty === true ? { becomePty: true } : {}),
    ...(spec.power !== undefined ? { power: interpolateCommand(spec.power, vars).command } : {}),
    ...(spec.appears_in !== undefined ? { appearsIn: spec.appears_in } : {}),
    ...(spec.spare_access !== undefined
      ? {
          spareAccess: {
            port: spec.spare_access.port,
            ...(spec.spare_access.server !== undefined ? { server: spec.spare_access.server } : {}),
            ...(spec.spare_access.config !== undefined ? { config: spec.spare_access.config } : {}),
            lifetimeMs: parseDuration(spec.spare_access.lifetime ?? '2h'),
            ...(spec.spare_access.also !== undefined ? { also: spec.spare_access.also } : {}),
          },
        }
      : {}),
  };
}

/** SHA256 fingerprint of "type base64 [comment]", or null when it is not a public key line. */
function keyFingerprint(line: string): string | null {
  const [type, base64] = line.trim().split(/\s+/);
  if (!type || !base64 || !/^[A-Za-z0-9+/]+=*$/.test(base64)) return null;
  const blob = Buffer.from(base64, 'base64');
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (length !== type.length || blob.subarray(4, 4 + length).toString('latin1') !== type) return null;
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function destructiveText(destructive: boolean | string | undefined, fallbackText: string, text: (value: string) => string): string | undefined {
  if (destructive === undefined || destructive === false) return undefined;
  return destructive === true ? fallbackText : text(destructive);
}

/** `revert_after` with its `revert`, each useless without the other. */
function revertPlan(rawStep: Extract<RawStep, { run: unknown }>, path: Path, locate: Locate, report: Report, command: CommandOf): { revert?: RevertPlan } {
  const { revert_after: after, revert } = rawStep;
  if (after === undefined && revert === undefined) return {};
  if (after === undefined) {
    report(locate(path, 'revert'), `'revert' runs only when armed: add revert_after: DURATION to ${describePath(path)}`);
    return {};
  }
  if (revert === undefined) {
    report(locate(path, 'revert_after'), `${describePath(path)} has revert_after but no 'revert': the command that undoes the change on ${rawStep.host}`);
    return {};
  }
  const afterMs = parseDuration(after);
  if (afterMs < 1000) report(locate(path, 'revert_after'), `revert_after of ${describePath(path)} must be at least 1s`);
  return { revert: { afterMs, command: command(revert, [...path, 'revert']) } };
}

const SIZE_UNITS = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as const;

function preflightCheck(raw: RawCheck, path: Path, locate: Locate, report: Report, text: (value: string) => string): PreflightCheck {
  if ('fstab' in raw) return { kind: 'fstab', path: raw.fstab === true ? '/etc/fstab' : text(raw.fstab) };
  if ('mem_available' in raw) {
    const size = raw.mem_available;
    return { kind: 'mem_available', size, bytes: Math.round(parseFloat(size) * SIZE_UNITS[size.slice(-1) as keyof typeof SIZE_UNITS]) };
  }
  if ('disk' in raw) {
    const { device, serial, ptuuid } = raw.disk;
    if ((serial === undefined) === (ptuuid === undefined)) {
      report(locate([...path, 'disk']), `${describePath([...path, 'disk'])} needs exactly one of serial and ptuuid: the id the upgrader types to go on`);
    }
    return {
      kind: 'disk',
      device: text(device),
      ...(serial !== undefined ? { serial: text(serial) } : {}),
      ...(ptuuid !== undefined ? { ptuuid: text(ptuuid) } : {}),
    };
  }
  if ('address_free' in raw) return { kind: 'address_free', address: text(raw.address_free.address), interface: text(raw.address_free.interface) };
  return { kind: 'grubenv' };
}

/** Why a key that belongs to another kind of step does not apply to this one, when it is such a key. */
function misplacedStepKey(key: string, step: unknown): string | undefined {
  if (key !== 'revert_after' && key !== 'revert') return undefined;
  const kind = STEP_KINDS.find((k) => isRecord(step) && k in step);
  if (kind === 'local') {
    return `'${key}' arms a revert on the host the change is made on, and a local step has none: make the change in a run step`;
  }
  return `'${key}' applies to run steps only`;
}

function waitCondition(rawStep: Extract<RawStep, { wait: unknown }>, path: Path, locate: Locate, report: Report, command: CommandOf) {
  const misplaced = (key: 'port' | 'command') => {
    if (rawStep[key] !== undefined && rawStep.wait !== key) {
      report(locate(path, key), `'${key}' only applies to wait: ${key}, not wait: ${rawStep.wait}`);
    }
  };
  misplaced('port');
  misplaced('command');
  switch (rawStep.wait) {
    case 'ssh':
      return { kind: 'ssh' as const };
    case 'port':
      if (rawStep.port === undefined) report(locate(path), `${describePath(path)} waits for a port but names none; add port: N`);
      return { kind: 'port' as const, port: rawStep.port ?? 0 };
    case 'command':
      if (rawStep.command === undefined) {
        report(locate(path), `${describePath(path)} waits for a command but names none; add command: ...`);
      }
      return { kind: 'command' as const, command: rawStep.command !== undefined ? command(rawStep.command, [...path, 'command']) : 'false' };
  }
}
