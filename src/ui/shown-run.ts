import type { Run } from '../runner/run.js';
import { shownRunbook, shownSteps } from '../text/shown-runbook.js';

/** The run as the screens read it: its runbook's text made visible (see text/shown-runbook.ts); everything else is the run itself. */
export function shownRun(run: Run): Run {
  const stepOf = shownSteps(run.runbook);
  return { ...run, runbook: shownRunbook(run.runbook), stepOf: (stepId) => stepOf(stepId) ?? run.stepOf(stepId) };
}
