// Reuse, before the schema check: phase templates with parameters (`use:`/`with:`), other
// files' phases and templates (`include:`), YAML merge keys and top-level `x-` keys for
// anchors. The result is the runbook as if written out in one file, with a source map that
// tells for every part of it which file, and where in that file, it was written.
import { dirname, join, relative, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { closest, type RunbookProblem } from './errors.js';
import { NAME_PATTERN } from './schema.js';
import { REFERENCE } from './shell-context.js';
import type { SourcePosition } from './types.js';
import { batchesOf, fleetSettingsOf, FLEET_KEYS, groupMembers, maxFailOf, selectHosts, type FleetSettings, type HostSelection } from './fleet-settings.js';

export type Path = readonly PropertyKey[];

/** One parsed file. `file` is the name problems show: the main file as given, an included one joined to its folder. */
export interface SourceFile {
  file: string;
  absolute: string;
  source: string;
  doc: Document;
  lineCounter: LineCounter;
}

/** The composed value under `prefix` was written at `at` in `from`. The longest prefix that matches wins. */
export interface SourceMapEntry {
  prefix: Path;
  from: SourceFile;
  at: Path;
}

export interface Composition {
  /** The runbook as one value, without templates, includes and top-level x- keys: what the schema checks. */
  raw: unknown;
  sources: SourceMapEntry[];
  /** By composed phase index: the template it was made from (none for a for_each phase's own steps) and the values of its parameters. */
  instances: Map<number, { template?: string; params: Record<string, string> }>;
  /** By composed phase index: the for_each phase and host it was made for (one composed phase per host). */
  fleets: Map<number, FleetInstance>;
  /** The groups, their members in order. */
  groups: Record<string, string[]>;
  /** Included files, absolute, in the order first read. */
  includes: SourceFile[];
  /** Templates no phase uses: checked on their own as phases, since nothing else would check them. */
  unused: UnusedTemplate[];
  problems: RunbookProblem[];
}

/** One host's phase of a `for_each` phase, before the loader gathers them into one. */
export interface FleetInstance {
  name: string;
  host: string;
  settings: FleetSettings;
  hosts: string[];
  batches: string[][];
  maxFail: number;
}

/** What composing needs besides the files: the upgrader's choice of hosts and the ssh config's aliases (for groups by pattern). */
export interface ComposeOptions {
  select?: HostSelection;
  sshAliases?: () => string[];
}

/** A template as a phase to check: its host fields that are exactly {{param}} hold a stand-in host name. */
export interface UnusedTemplate {
  name: string;
  phase: Record<string, unknown>;
  from: SourceFile;
  at: Path;
}

/** Stands in for a host given as {{param}} in a template no phase uses; only the schema sees it. */
const STAND_IN_HOST = 'template-param';

/** Reads an included file (absolute path); undefined when there is none. */
export type ReadInclude = (absolute: string) => string | undefined;

/** Parses YAML the way runbooks are read: merge keys on, duplicate keys refused. */
export function parseSource(source: string, file: string, absolute: string): SourceFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  return { file, absolute, source, doc, lineCounter };
}

/** Where in the files a path of the composed value was written: its file (when not the main one), line and column. */
export type Locate = (path: Path, key?: string) => SourcePosition & { file?: string };

export function sourceLocator(main: SourceFile, sources: readonly SourceMapEntry[]): Locate {
  return (path, key) => {
    const { entry, rest } = entryFor(main, sources, path);
    const position = locateIn(entry.from, [...entry.at, ...rest], key);
    return entry.from === main ? position : { file: entry.from.file, ...position };
  };
}

/** Where the reference at `index` of a string value stands (the value's start when it cannot tell). */
export type LocateReference = (path: Path, template: string, index: number) => SourcePosition & { file?: string };

export function referenceLocator(main: SourceFile, sources: readonly SourceMapEntry[], locate: Locate): LocateReference {
  return (path, template, index) => {
    const { entry, rest } = entryFor(main, sources, path);
    const { doc, source, lineCounter } = entry.from;
    const node = doc.getIn([...entry.at, ...rest], true) as { range?: [number, number, number] } | undefined;
    const range = isScalar(node) ? node.range : undefined;
    if (!range) return locate(path);
    const inValue = [...template.matchAll(REFERENCE)];
    const inSource = [...source.slice(range[0], range[1]).matchAll(REFERENCE)];
    const nth = inValue.findIndex((match) => match.index === index);
    if (nth === -1 || inSource.length !== inValue.length) return locate(path);
    const { line, col } = lineCounter.linePos(range[0] + inSource[nth]!.index);
    return entry.from === main ? { line, col } : { file: entry.from.file, line, col };
  };
}

function entryFor(main: SourceFile, sources: readonly SourceMapEntry[], path: Path): { entry: SourceMapEntry; rest: Path } {
  let best: SourceMapEntry = { prefix: [], from: main, at: [] };
  for (const entry of sources) {
    if (entry.prefix.length > path.length || entry.prefix.length < best.prefix.length) continue;
    if (entry.prefix.every((segment, i) => String(segment) === String(path[i]))) best = entry;
  }
  return { entry: best, rest: path.slice(best.prefix.length) };
}

/** Finds where a path sits in one file; falls back to the deepest node found. */
export function locateIn({ doc, lineCounter }: SourceFile, path: Path, key?: string): SourcePosition {
  const positionOf = (offset: number | undefined): SourcePosition => {
    if (offset === undefined) return { line: 1, col: 1 };
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
  let node: unknown = doc.contents;
  let offset: number | undefined = (doc.contents as { range?: number[] } | null)?.range?.[0];
  const steps = key === undefined ? path : [...path, key];
  for (let i = 0; i < steps.length; i++) {
    const segment = steps[i];
    const isLast = i === steps.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      // The last segment named as a key points at the key itself (unknown or misplaced keys).
      if (isLast && key !== undefined) {
        offset = (pair.key as { range?: number[] }).range?.[0] ?? offset;
        break;
      }
      node = pair.value;
      offset = (pair.value as { range?: number[] } | null)?.range?.[0] ?? (pair.key as { range?: number[] }).range?.[0];
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      offset = (node as { range?: number[] } | undefined)?.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return positionOf(offset);
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXACT_REFERENCE = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;
/** Step fields that name a host: a template may give them as exactly {{param}}. */
const HOST_FIELDS = ['host', 'preflight', 'reboot'] as const;
const INCLUDED_KEYS = ['templates', 'phases'];
const X_KEYS_ELSEWHERE = 'x- keys are allowed only at the top of the runbook; define the anchor there';

interface Template {
  name: string;
  from: SourceFile;
  at: Path;
  value: Record<string, unknown>;
  params: string[];
}

/** A phase item as written, before templates are put in. */
interface PhaseItem {
  value: unknown;
  from: SourceFile;
  at: Path;
}

/**
 * Composes the main file with its includes and templates. `main` must have parsed without
 * YAML errors. Problems point into the file they are in.
 */
export function compose(main: SourceFile, readInclude: ReadInclude, options: ComposeOptions = {}): Composition {
  const problems: RunbookProblem[] = [];
  const report = (from: SourceFile, at: Path, message: string, key?: string) => problems.push({ file: from.file, ...locateIn(from, at, key), message });
  const templates = new Map<string, Template>();
  const includes: SourceFile[] = [];
  const phaseItems: PhaseItem[] = [];

  /** Collects a file's templates and phase items, reading its includes where they stand. */
  const collect = (from: SourceFile, value: Record<string, unknown>, chain: readonly string[], isMain: boolean) => {
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('x-')) continue;
      if (!isMain && !INCLUDED_KEYS.includes(key)) {
        report(from, [], `an included file holds only templates and phases; '${key}' belongs in the main runbook (${main.file})`, key);
      }
      forbidXKeys(from, [key], item, report);
    }
    if (value.templates !== undefined) {
      if (!isRecord(value.templates)) report(from, ['templates'], "'templates' must be a mapping of template names to phases without a name");
      else for (const [name, body] of Object.entries(value.templates)) addTemplate(from, name, body);
    }
    if (!Array.isArray(value.phases)) {
      if (!isMain) report(from, [], `the included file ${from.file} needs 'phases', a list`);
      return;
    }
    value.phases.forEach((item, index) => {
      const at = ['phases', index];
      if (isRecord(item) && 'include' in item) {
        const extra = Object.keys(item).find((key) => key !== 'include');
        if (extra !== undefined) report(from, at, `an include item holds only 'include'; '${extra}' does not belong there`, extra);
        if (typeof item.include !== 'string' || item.include === '') {
          report(from, [...at, 'include'], "'include' names a runbook file, relative to this one");
          return;
        }
        const absolute = resolve(dirname(from.absolute), item.include);
        const file = join(dirname(from.file), item.include);
        if (chain.includes(absolute)) {
          const circle = [...chain.slice(chain.indexOf(absolute)), absolute].map((name) => displayName(name, main)).join(' → ');
          report(from, [...at, 'include'], `'${item.include}' includes itself again (${circle}); an include must not come back to a file that includes it`);
          return;
        }
        const source = readInclude(absolute);
        if (source === undefined) {
          report(from, [...at, 'include'], `cannot read the included file ${file}: no such file (the path is relative to ${from.file})`);
          return;
        }
        const included = parseSource(source, file, absolute);
        if (!includes.some((known) => known.absolute === absolute)) includes.push(included);
        if (included.doc.errors.length > 0) {
          for (const error of included.doc.errors) {
            problems.push({
              file,
              ...included.lineCounter.linePos(error.pos[0]),
              message: `invalid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '')}`,
            });
          }
          return;
        }
        const content: unknown = included.doc.toJS();
        if (!isRecord(content)) {
          problems.push({ file, line: 1, col: 1, message: `the included file ${file} must be a mapping with 'phases' (and 'templates')` });
          return;
        }
        collect(included, content, [...chain, absolute], false);
        return;
      }
      phaseItems.push({ value: item, from, at });
    });
  };

  const addTemplate = (from: SourceFile, name: string, body: unknown) => {
    const at = ['templates', name];
    const earlier = templates.get(name);
    if (earlier) {
      report(from, at, `template '${name}' is already defined in ${earlier.from.file}`);
      return;
    }
    if (!NAME_PATTERN.test(name)) {
      report(
        from,
        ['templates'],
        `the template name '${name}' is not valid: a template name is lower-case letters, digits, '-' and '_', starting with a letter or digit`,
        name,
      );
    }
    if (!isRecord(body)) {
      report(from, at, `template '${name}' must be a mapping: a phase without a name, with its params`);
      return;
    }
    if ('name' in body) report(from, at, `template '${name}' has a 'name'; each phase that uses it gives its own`, 'name');
    const params = body.params ?? [];
    if (!Array.isArray(params) || params.some((param) => typeof param !== 'string' || !PARAM_NAME.test(param))) {
      report(from, [...at, 'params'], `'params' of template '${name}' must be a list of names (letters, digits and _), each used as {{name}} inside`);
    }
    const value = Object.fromEntries(Object.entries(body).filter(([key]) => key !== 'params'));
    templates.set(name, { name, from, at, value, params: Array.isArray(params) ? params.filter((param) => typeof param === 'string') : [] });
  };

  const top: unknown = main.doc.toJS();
  if (!isRecord(top)) return { raw: top, sources: [], instances: new Map(), fleets: new Map(), groups: {}, includes, unused: [], problems };
  collect(main, top, [main.absolute], true);
  const secretNames = isRecord(top.secrets) ? Object.keys(top.secrets) : [];
  const groups = groupsOf(main, top, readInclude, options, report);

  const sources: SourceMapEntry[] = [];
  const instances = new Map<number, { template?: string; params: Record<string, string> }>();
  const fleets = new Map<number, FleetInstance>();
  let index = 0;
  /** A for_each phase item: one phase per selected host, each as if it used its template with that host for `as`. */
  const perHost = (item: PhaseItem, value: Record<string, unknown>): unknown[] => {
    const fleetReport = (at: Path, message: string, key?: string) => report(item.from, [...item.at, ...at], message, key);
    const { use, with: given, ...rest } = value;
    const own = Object.fromEntries(Object.entries(rest).filter(([key]) => !(FLEET_KEYS as readonly string[]).includes(key)));
    const { name: _name, ...body } = own;
    const template: Template | undefined =
      use === undefined ? { name: '', from: item.from, at: item.at, value: body, params: [] } : typeof use === 'string' ? templates.get(use) : undefined;
    const notGiven = template?.params.filter((param) => !(isRecord(given) && param in given)) ?? [];
    const settings = fleetSettingsOf(value, notGiven.length === 1 ? notGiven[0] : undefined, fleetReport);
    if (!settings || !template) return [composeUse(item, value)];
    const members = groups[settings.group];
    if (members === undefined) {
      const hint = closest(settings.group, Object.keys(groups));
      fleetReport(
        ['for_each'],
        `unknown group '${settings.group}'${hint ? `; did you mean '${hint}'?` : Object.keys(groups).length > 0 ? `; the groups are ${Object.keys(groups).join(', ')}` : '; define it under groups:'}`,
      );
      return [];
    }
    const hosts = selectHosts(members, options.select);
    if (hosts.length === 0) {
      fleetReport(
        ['for_each'],
        `no host of group '${settings.group}' (${members.join(', ') || 'empty'}) is selected${options.select?.patterns ? ` by --hosts ${options.select.patterns.join(',')}` : ''}: phase '${String(value.name)}' would run on none`,
      );
      return [];
    }
    if (isRecord(given) && settings.as in given)
      fleetReport(['with', settings.as], `'${settings.as}' is what for_each gives each host as; leave it out of 'with'`);
    const batches = batchesOf(hosts, settings);
    const maxFail = maxFailOf(hosts, settings);
    return hosts.map((host) => {
      const at = index;
      fleets.set(at, { name: String(value.name), host, settings, hosts, batches, maxFail });
      const asTemplate = use === undefined ? { ...template, params: [settings.as] } : template;
      const name = `${String(value.name)}--${host}`;
      const withHost = { ...(isRecord(given) ? given : {}), [settings.as]: host };
      const phase = composeUse(item, use === undefined ? { name, with: withHost } : { ...own, name, use, with: withHost }, asTemplate);
      if (use === undefined) instances.set(at, { params: { [settings.as]: host } });
      return phase;
    });
  };
  /** A phase that uses a template, with its params put in (`template`: the one it uses, when already known). */
  const composeUse = (item: PhaseItem, value: Record<string, unknown>, known?: Template): unknown => {
    const prefix = ['phases', index];
    index += 1;
    sources.push({ prefix, from: item.from, at: item.at });
    if (!('use' in value) && !known) return value;
    const { use, with: given, ...own } = value;
    const template = known ?? (typeof use === 'string' ? templates.get(use) : undefined);
    if (template === undefined) {
      const hint = typeof use === 'string' ? closest(use, [...templates.keys()]) : undefined;
      const known = templates.size > 0 ? `; the templates are ${[...templates.keys()].join(', ')}` : '; define it under templates';
      report(item.from, [...item.at, 'use'], `unknown template '${String(use)}'${hint ? `; did you mean '${hint}'?` : known}`);
      return { ...own, steps: [] };
    }
    if ('steps' in own) report(item.from, item.at, `a phase with use: takes its steps from template '${template.name}'; drop 'steps' or 'use'`, 'steps');
    const params = paramValues(template, given, item, secretNames, report);
    if (template.name !== '') instances.set(prefix[1] as number, { template: template.name, params });
    for (const key of Object.keys(template.value)) {
      if (!(key in own)) sources.push({ prefix: [...prefix, key], from: template.from, at: [...template.at, key] });
    }
    const body = structuredClone(template.value);
    forEachHostParam(body, (step, field, param, list, s) => {
      if (!(param in params)) return;
      step[field] = params[param];
      // An unknown host then points at the value given for the parameter.
      const withAt = isRecord(given) && param in given ? [...item.at, 'with', param] : [...item.at, 'use'];
      sources.push({ prefix: [...prefix, list, s, field], from: item.from, at: withAt });
    });
    return { ...body, ...own };
  };
  const phases = phaseItems.flatMap((item): unknown[] =>
    isRecord(item.value) && 'for_each' in item.value ? perHost(item, item.value) : [isRecord(item.value) ? composeUse(item, item.value) : composeAny(item)],
  );
  function composeAny(item: PhaseItem): unknown {
    sources.push({ prefix: ['phases', index], from: item.from, at: item.at });
    index += 1;
    return item.value;
  }

  const raw = Object.fromEntries(Object.entries(top).filter(([key]) => key !== 'templates' && key !== 'groups' && !key.startsWith('x-')));
  if ('phases' in top) raw.phases = phases;
  const used = new Set([...instances.values()].map((instance) => instance.template));
  for (const item of phaseItems) if (isRecord(item.value) && typeof item.value.use === 'string') used.add(item.value.use);
  const unused = [...templates.values()].filter((template) => !used.has(template.name)).map(unusedTemplate);
  return { raw, sources, instances, fleets, groups, includes, unused, problems };
}

/** The runbook's groups, each resolved to its members (a problem reported for each one that cannot be). */
function groupsOf(
  main: SourceFile,
  top: Record<string, unknown>,
  readInclude: ReadInclude,
  options: ComposeOptions,
  report: (from: SourceFile, at: Path, message: string, key?: string) => void,
): Record<string, string[]> {
  if (top.groups === undefined) return {};
  if (!isRecord(top.groups)) {
    report(main, ['groups'], "'groups' is a mapping of group names to hosts, e.g. groups: { guests: [vm1, vm2] }");
    return {};
  }
  const groups: Record<string, string[]> = {};
  for (const [name, written] of Object.entries(top.groups)) {
    if (!NAME_PATTERN.test(name)) report(main, ['groups'], `the group name '${name}' is not valid: lower-case letters, digits, '-' and '_'`, name);
    groups[name] = groupMembers(
      name,
      written,
      { mainFile: main.absolute, readFile: readInclude, sshAliases: options.sshAliases ?? (() => []) },
      (at, message, key) => report(main, at, message, key),
    );
  }
  return groups;
}

/**
 * Calls `visit` for each host field written as exactly {{param}} in a template's steps and
 * in its phase fallback's, which takes the template's params as its steps do.
 */
function forEachHostParam(
  body: Record<string, unknown>,
  visit: (step: Record<string, unknown>, field: (typeof HOST_FIELDS)[number], param: string, list: 'steps' | 'fallback', index: number) => void,
): void {
  for (const list of ['steps', 'fallback'] as const) {
    const listed = body[list];
    if (!Array.isArray(listed)) continue;
    listed.forEach((step, index) => {
      if (!isRecord(step)) return;
      for (const field of HOST_FIELDS) {
        const written = step[field];
        const param = typeof written === 'string' ? EXACT_REFERENCE.exec(written)?.[1] : undefined;
        if (param !== undefined) visit(step, field, param, list, index);
      }
    });
  }
}

function unusedTemplate(template: Template): UnusedTemplate {
  const { params: _params, ...body } = structuredClone(template.value);
  forEachHostParam(body, (step, field, param) => {
    if (template.params.includes(param)) step[field] = STAND_IN_HOST;
  });
  return { name: template.name, phase: { name: template.name, ...body }, from: template.from, at: template.at };
}

function paramValues(
  template: Template,
  given: unknown,
  item: PhaseItem,
  secretNames: readonly string[],
  report: (from: SourceFile, at: Path, message: string, key?: string) => void,
): Record<string, string> {
  const withAt = [...item.at, 'with'];
  const values: Record<string, string> = {};
  if (given !== undefined && !isRecord(given)) {
    report(item.from, withAt, `'with' gives template '${template.name}' its params as a mapping, e.g. with: { ${template.params[0] ?? 'name'}: value }`);
    return values;
  }
  const entries = Object.entries(given ?? {});
  for (const [name, value] of entries) {
    if (!template.params.includes(name)) {
      const hint = closest(name, template.params);
      const known = template.params.length > 0 ? `; its params are ${template.params.join(', ')}` : '; it has no params';
      report(item.from, withAt, `template '${template.name}' has no param '${name}'${hint ? `; did you mean '${hint}'?` : known}`, name);
    } else if (typeof value !== 'string' && typeof value !== 'number') {
      report(item.from, [...withAt, name], `the value of param '${name}' must be a text or a number`);
    } else if (secretNames.includes(name)) {
      report(item.from, withAt, `param '${name}' has the name of a secret; rename the param in template '${template.name}'`, name);
    } else {
      values[name] = String(value);
    }
  }
  const missing = template.params.filter((param) => !entries.some(([name]) => name === param));
  if (missing.length > 0) {
    const at = given === undefined ? [...item.at, 'use'] : withAt;
    report(item.from, at, `template '${template.name}' needs ${missing.map((name) => `'${name}'`).join(', ')} in 'with' (e.g. with: { ${missing[0]}: ... })`);
  }
  return values;
}

/** Reports every x- key below the top of a file. */
function forbidXKeys(from: SourceFile, path: Path, value: unknown, report: (from: SourceFile, at: Path, message: string, key?: string) => void) {
  if (Array.isArray(value)) value.forEach((item, index) => forbidXKeys(from, [...path, index], item, report));
  else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('x-')) report(from, path, `'${key}': ${X_KEYS_ELSEWHERE}`, key);
      else forbidXKeys(from, [...path, key], item, report);
    }
  }
}

function displayName(absolute: string, main: SourceFile): string {
  return absolute === main.absolute ? main.file : join(dirname(main.file), relative(dirname(main.absolute), absolute));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
