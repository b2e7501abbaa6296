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

/** The shown copy of each step by id (ids are plain names, the same in both). */
export function shownSteps(runbook: Runbook): (stepId: string) => Step | undefined {
  const steps = new Map(allSteps(shownRunbook(runbook)).map((step) => [step.id, step]));
  return (stepId) => steps.get(stepId);
}
