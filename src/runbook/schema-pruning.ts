// A runbook the schema refused, less what it refused: so that the checks after the schema
// (hosts, variables, captures, conditions) run on the rest and `lint` shows every problem of
// a file in one round. A refused key is left out (its default applies); a step that still
// does not fit is replaced by a note, so that step numbers stay; a refused host by an empty
// one. Anything else refused, and nothing further is checked.
import type { core, z } from 'zod';

export type Path = ReadonlyArray<PropertyKey>;

/** At most this many rounds of leaving out: each can show problems the last one hid. */
const ROUNDS = 4;

/**
 * The rest, and where something was left out (the mapping that lost a key, the step made a
 * note): what is said about those places comes from the leaving out, not from the file.
 */
export function withoutRefusedParts<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  issues: readonly core.$ZodIssue[],
): { rest: z.infer<S>; changed: Path[] } | null {
  const copy = structuredClone(raw);
  let refused = issues;
  const leftOutSteps = new Set<string>();
  const changed: Path[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const issue of refused) if (!leaveOut(copy, issue, leftOutSteps, changed)) return null;
    const parsed = schema.safeParse(copy);
    if (parsed.success) return { rest: parsed.data, changed };
    refused = parsed.error.issues;
  }
  return null;
}

function leaveOut(root: unknown, issue: core.$ZodIssue, leftOutSteps: Set<string>, changed: Path[]): boolean {
  const path = issue.path;
  const step = enclosingStep(path);
  // A key the schema does not know, or one whose value it refused (not one that is missing): left out.
  if (issue.code === 'unrecognized_keys') {
    const holder = valueAt(root, path);
    if (!isRecord(holder)) return false;
    for (const key of issue.keys) delete holder[key];
    changed.push(path);
    return true;
  }
  const key = path.at(-1);
  const holder = valueAt(root, path.slice(0, -1));
  const isKey = typeof key === 'string' && isRecord(holder) && key in holder;
  const stepKey = step !== null && path.length > step.length;
  if (isKey && (stepKey || step === null) && !(isHostPath(path) && path.length === 2)) {
    delete holder[key];
    changed.push(path.slice(0, -1));
    return true;
  }
  if (step !== null) {
    const id = JSON.stringify(step);
    const list = valueAt(root, step.slice(0, -1));
    if (!Array.isArray(list) || leftOutSteps.has(id)) return leftOutSteps.has(id);
    leftOutSteps.add(id);
    list[step.at(-1) as number] = { note: 'left out: it did not fit the schema' };
    changed.push(step);
    return true;
  }
  if (isHostPath(path)) {
    const hosts = valueAt(root, ['hosts']);
    if (!isRecord(hosts)) return false;
    hosts[path[1] as string] = {};
    changed.push(path.slice(0, 2));
    return true;
  }
  return false;
}

/** The path of the step `path` lies in (phases.P.steps.S, phases.P.fallback.S, fallback.S), or null. */
function enclosingStep(path: Path): Path | null {
  if (path[0] === 'phases' && (path[2] === 'steps' || path[2] === 'fallback') && typeof path[3] === 'number') return path.slice(0, 4);
  if (path[0] === 'fallback' && typeof path[1] === 'number') return path.slice(0, 2);
  return null;
}

function isHostPath(path: Path): boolean {
  return path[0] === 'hosts' && typeof path[1] === 'string' && path.length >= 2;
}

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
