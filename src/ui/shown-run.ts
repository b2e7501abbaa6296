import type { Run } from '../runner/run.js';
import { followShownRunbook, shownSteps } from '../text/shown-runbook.js';

/** The run as the screens read it: its runbook's text made visible (see text/shown-runbook.ts); everything else is the run itself. */
export function shownRun(run: Run): Run {
  const stepOf = shownSteps(run.runbook);
  // A getter: titles change as values are captured (runner/shown-values.ts).
  const runbook = followShownRunbook(run.runbook);
  return Object.defineProperty({ ...run, stepOf: (stepId: string) => stepOf(stepId) ?? run.stepOf(stepId) }, 'runbook', { get: runbook, enumerable: true });
}
