// `skip_done: true` on a step, its phase or the runbook: the nearest one given says whether
// the step's `check:` is asked before it runs. A step that says so itself without a check
// is an error; a phase or runbook that says so leaves steps without a check as they are.
import type { Step } from './types.js';

/** The step with `skipDone` set when the nearest `skip_done` given is true and it has a check. */
export function withSkipDone(step: Step, given: Array<boolean | undefined>): Step {
  const nearest = given.find((flag) => flag !== undefined);
  if (nearest !== true || !hasCheck(step)) return step;
  return { ...step, skipDone: true };
}

export function hasCheck(step: Step): boolean {
  return (step.kind === 'run' || step.kind === 'local') && step.check !== undefined;
}

export const SKIP_DONE_WITHOUT_CHECK =
  'skip_done: true needs a `check:` on the step, the command that says whether it is already done (exit 0: done); add one, or remove skip_done';
