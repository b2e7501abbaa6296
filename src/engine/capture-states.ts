// A step with `capture:` that exited 0 without a value fails (fail closed): later steps
// must not run with its {{name}} unset. The runner says what was looked for; this is the
// engine's own guard for a result that came back without one all the same.
import type { CommandResult } from './actions.js';
import { failActions, type StepPlan } from './step-plan.js';

type Exited = { event: { output: CommandResult } };

export function captureMissing(plan: StepPlan) {
  const { step, stepId } = plan;
  if ((step.kind !== 'run' && step.kind !== 'local') || step.capture === undefined) return [];
  const { name } = step.capture;
  const missing = ({ event }: Exited) => event.output.exitCode === 0 && event.output.captured === undefined;
  const error = new Error(`the command exited 0, but capture ${name} has no value; later steps that use {{${name}}} cannot run`);
  const finish = { type: 'finishStep' as const, params: { stepId, outcome: 'error' as const, error } };
  return [{ guard: missing, target: plan.failTarget, actions: failActions(plan, finish) }];
}
