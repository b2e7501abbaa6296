// The text a destructive step's approval asks to type, with the values steps captured put
// in (`destructive: "{{disk_id}}"`): what the view shows and what the rules compare with.
import { interpolateText } from '../runbook/interpolate.js';
import { REFERENCE } from '../runbook/shell-context.js';
import type { Step } from '../runbook/types.js';
import { valuesFor } from './context.js';

/** The approval text of `step` now, or undefined when it has none. */
export function approvalText(step: Step, context: { values?: Record<string, string> }): string | undefined {
  if (!('confirmText' in step) || step.confirmText === undefined) return undefined;
  return interpolateText(step.confirmText, valuesFor(context, step));
}

/** A {{name}} the approval text still holds: a value not captured (yet), which no typing can match. */
export function uncapturedIn(text: string): string | undefined {
  return [...text.matchAll(REFERENCE)][0]?.[1];
}

/** Why typed text does not approve a destructive step, or null when it does. */
export function approvalProblem(step: Step, context: { values?: Record<string, string> }, typed: string): string | null {
  const text = approvalText(step, context);
  if (text === undefined) return 'the typed text does not match ""';
  const missing = uncapturedIn(text);
  if (missing !== undefined) return `the text to type holds {{${missing}}}, which has no value: the step that captures it did not run`;
  return typed.trim() === text ? null : `the typed text does not match "${text}"`;
}
