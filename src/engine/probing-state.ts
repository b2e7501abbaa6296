// A step whose check is asked first (`skip_done`, going again): a check that passes marks
// the step done, journaled with what it printed, instead of running it.
import type { LocalStep, RunStep } from '../runbook/types.js';
import type { StateConfig } from './setup.js';
import type { StepPlan } from './step-plan.js';

export function probing(_plan: StepPlan, _check: RunStep | LocalStep, target: string): StateConfig {
  return { always: { target } };
}
