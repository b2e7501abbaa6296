// A step with `when:` starts here: its conditions are decided (by the decideWhen effect,
// which gathers the facts of its hosts once) before anything else, and a condition that
// does not hold skips the step with the reason.
import type { StateConfig } from './setup.js';
import type { StepPlan } from './step-plan.js';

export function deciding(_plan: StepPlan, target: string): StateConfig {
  return { always: { target } };
}
