// An edit step first works out its change against the file on its host: nothing to change
// is done at once (applied twice, the second time changes nothing); otherwise the diff goes
// to the upgrader's approval.
import type { EditStep } from '../runbook/types.js';
import type { StateConfig } from './setup.js';
import type { StepPlan } from './step-plan.js';

export function preparing(_plan: StepPlan, _step: EditStep, target: string): StateConfig {
  return { always: { target } };
}
