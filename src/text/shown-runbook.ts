// What of a runbook front-ends put on a screen, with every string made visible text (see
// output/neutralize.ts): commands, notes and names cannot move the cursor, set a title or
// the clipboard, or hide a part of themselves. Only for showing: what runs is the runbook.
import { visibleLine, visibleText } from '../output/neutralize.js';
import { allSteps, type Runbook, type Step } from '../runbook/types.js';

/** Fields whose line breaks are part of what they say. */
const MULTI_LINE = new Set(['text', 'command', 'check', 'description']);

/** A copy of `value` with every string shown safely; `key` is the field it sits in. */
export function shown<T>(value: T, key = ''): T {
  if (typeof value === 'string') return (MULTI_LINE.has(key) ? visibleText(value) : visibleLine(value)) as T;
  if (Array.isArray(value)) return value.map((item) => shown(item, key)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, shown(item, name)])) as T;
  }
  return value;
}

export function shownRunbook(runbook: Runbook): Runbook {
  return shown(runbook);
}

/** What of a step changes while a run goes on: its title and text, once captured values are put in (runner/shown-values.ts). */
const changingText = (step: Step) => `${step.title}\u0000${'text' in step ? step.text : ''}`;

/** The shown copy of each step by id (ids are plain names, the same in both), made again when its title or text changed. */
export function shownSteps(runbook: Runbook): (stepId: string) => Step | undefined {
  const steps = new Map(allSteps(runbook).map((step) => [step.id, step]));
  const copies = new Map<string, { from: string; step: Step }>();
  return (stepId) => {
    const step = steps.get(stepId);
    if (!step) return undefined;
    const copy = copies.get(stepId);
    if (copy && copy.from === changingText(step)) return copy.step;
    const made = { from: changingText(step), step: shown(step) };
    copies.set(stepId, made);
    return made.step;
  };
}

/** How many times the runbook's step titles and texts were rewritten (runner/shown-values.ts says so). */
const textVersions = new WeakMap<Runbook, number>();

/** Said by whatever rewrites step titles or texts in place: the shown copies are made again. */
export function stepTextsChanged(runbook: Runbook): void {
  textVersions.set(runbook, (textVersions.get(runbook) ?? 0) + 1);
}

/**
 * The shown runbook as it is now: made again when a step's title or text changed. Read at
 * every frame, so a change is told (stepTextsChanged), not looked for in 200 hosts' steps.
 */
export function followShownRunbook(runbook: Runbook): () => Runbook {
  let copy: { version: number; runbook: Runbook } | undefined;
  return () => {
    const version = textVersions.get(runbook) ?? 0;
    if (copy?.version !== version) copy = { version, runbook: shownRunbook(runbook) };
    return copy.runbook;
  };
}
