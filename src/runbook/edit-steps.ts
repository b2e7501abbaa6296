// The loader's part for `edit:` and `undo:` steps: the changes as written, checked (regular
// expressions that compile, one-line lines, no NUL), and each undo tied to its edit step.
import { closest } from './errors.js';
import type { editStepSchema } from './schema.js';
import type { EditChange, EditStep, SourcePosition, Step, UndoStep } from './types.js';
import type { z } from 'zod';

type Path = readonly PropertyKey[];
type Locate = (path: Path, key?: string) => SourcePosition;
type Report = (at: SourcePosition, message: string) => void;
type RawEditStep = z.infer<typeof editStepSchema>;

/** The order the changes are made in: existing lines rewritten first, then missing ones added. */
const CHANGE_KEYS = ['content', 'replace', 'ensure_lines', 'set', 'block'] as const;

/** What an edit step is beyond what every step has: its path, its changes in the order they are made, and what approves it. */
export function editParts(
  raw: RawEditStep,
  path: Path,
  locate: Locate,
  report: Report,
  text: (value: string) => string,
): Pick<EditStep, 'path' | 'changes' | 'mode' | 'confirmText'> {
  const where = (key: string) => locate(path, key);
  const given = CHANGE_KEYS.filter((key) => raw[key] !== undefined);
  if (given.length === 0) report(locate(path), `the edit of ${raw.edit} says no change: give content, ensure_lines, replace, block or set`);
  if (given.includes('content') && given.length > 1) {
    report(
      where(given.find((key) => key !== 'content')!),
      `the edit of ${raw.edit} has content (the whole file) and ${given.filter((key) => key !== 'content').join(', ')}: use one or the other`,
    );
  }
  if (raw.separator !== undefined && raw.set === undefined) report(where('separator'), "'separator' goes with 'set', and this edit has none");
  const oneLine = (value: string, key: string, what: string) => {
    if (/[\r\n]/.test(value)) report(where(key), `${what} in the edit of ${raw.edit} is one line: ${JSON.stringify(value)} holds a line break`);
    return value;
  };
  const regex = (pattern: string, key: string) => {
    try {
      new RegExp(pattern);
    } catch (error) {
      report(where(key), `${JSON.stringify(pattern)} in the edit of ${raw.edit} is no regular expression: ${(error as Error).message}`);
    }
    return pattern;
  };
  const changes: EditChange[] = given.flatMap((key): EditChange[] => {
    switch (key) {
      case 'content':
        return [{ kind: 'content', text: text(raw.content!) }];
      case 'ensure_lines':
        return raw.ensure_lines!.map((entry) => {
          const line = typeof entry === 'string' ? entry : entry.line;
          const after = typeof entry === 'string' ? undefined : entry.after;
          return {
            kind: 'ensure_line' as const,
            line: oneLine(text(line), key, 'each of ensure_lines'),
            ...(after !== undefined ? { after: regex(text(after), key) } : {}),
          };
        });
      case 'replace':
        return raw.replace!.map((entry) => ({
          kind: 'replace' as const,
          pattern: regex(text(entry.match), key),
          with: oneLine(text(entry.with), key, 'a replacement'),
        }));
      case 'block':
        return [{ kind: 'block', marker: oneLine(text(raw.block!.marker), key, "a block's marker"), text: text(raw.block!.text) }];
      case 'set':
        return Object.entries(raw.set!).map(([name, value]) => ({
          kind: 'set' as const,
          key: name,
          value: oneLine(text(String(value)), key, `the value of ${name}`),
          separator: oneLine(raw.separator ?? '=', 'separator', 'the separator'),
        }));
    }
  });
  for (const change of changes) {
    for (const value of Object.values(change)) {
      if (typeof value === 'string' && value.includes('\0')) report(locate(path), `the edit of ${raw.edit} holds a NUL character, which no text file holds`);
    }
  }
  return {
    path: text(raw.edit),
    changes,
    ...(raw.mode !== undefined ? { mode: parseInt(raw.mode, 8) } : {}),
    confirmText: raw.destructive !== undefined ? text(raw.destructive) : raw.host,
  };
}

/**
 * Ties each undo step to the edit step it names (its host, sudo and file): an unknown id, a
 * step that is no edit, or one that comes later is reported.
 */
export function resolveUndoSteps(steps: Step[], report: Report): void {
  const order = new Map(steps.map((step, index) => [step.id, index]));
  for (const [index, step] of steps.entries()) {
    if (step.kind !== 'undo') continue;
    const target = steps.find((other) => other.id === step.stepId);
    if (target === undefined) {
      const hint = closest(
        step.stepId,
        steps.filter((other) => other.kind === 'edit').map((other) => other.id),
      );
      report(step.at, `undo names step '${step.stepId}', which the runbook does not have${hint ? `; did you mean '${hint}'?` : ''}`);
      continue;
    }
    if (target.kind !== 'edit') {
      report(step.at, `undo names step '${step.stepId}', which is a ${target.kind} step: undo puts back a file an edit step changed`);
      continue;
    }
    if ((order.get(target.id) ?? 0) > index) {
      report(step.at, `undo of '${step.stepId}' comes before that edit step: put it in the fallback or a later phase`);
    }
    fillUndo(step, target);
  }
}

function fillUndo(step: UndoStep, target: EditStep): void {
  step.host = target.host;
  step.path = target.path;
  if (target.become !== undefined) step.become = target.become;
  if (step.title === '') step.title = `put back ${target.path} on ${target.host} (undo ${target.id})`;
}
