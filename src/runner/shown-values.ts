// Titles and checkpoint/note texts for people, with the values steps captured put in. The
// steps' texts keep their {{name}} as the loader wrote them; once a value is captured (or
// restored on a resume), every screen that shows the step shows the value instead. One
// place for all of them: the steps' shown texts are rewritten from their templates here.
import { visibleLine } from '../output/neutralize.js';
import { interpolateText } from '../runbook/interpolate.js';
import { allSteps, type Runbook, type Step } from '../runbook/types.js';
import { stepTextsChanged } from '../text/shown-runbook.js';

/** Each step's title and text as the loader wrote them, {{name}} and all. */
const templates = new WeakMap<Step, { title: string; text?: string }>();

/** Puts the captured values into the runbook's step titles and checkpoint/note texts (values shown as visible text). */
export function showCapturedValues(runbook: Runbook, values: Record<string, string>): void {
  const names = Object.keys(runbook.captures);
  if (names.length === 0) return;
  const shown = Object.fromEntries(names.filter((name) => Object.hasOwn(values, name)).map((name) => [name, visibleLine(values[name]!)]));
  for (const step of allSteps(runbook)) {
    let template = templates.get(step);
    if (!template) {
      template = { title: step.title, ...('text' in step ? { text: step.text } : {}) };
      templates.set(step, template);
    }
    step.title = textWithValues(template.title, shown);
    if (template.text !== undefined && (step.kind === 'checkpoint' || step.kind === 'note')) step.text = textWithValues(template.text, shown);
  }
  stepTextsChanged(runbook);
}

/** {{name}} of a captured value replaced by it; a value not captured yet stays as {{name}}. */
export function textWithValues(text: string, values: Record<string, string>): string {
  return interpolateText(text, values);
}
