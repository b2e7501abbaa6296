// An edit step first works out its change against the file on its host: nothing to change
// is done at once (applied twice, the second time changes nothing); otherwise the diff goes
// to the upgrader's approval.
import type { EditStep } from '../runbook/types.js';
import { valuesFor, type EngineContext } from './context.js';
import type { EditPlan, StateConfig } from './setup.js';
import { failingWithError, resting, type StepPlan } from './step-plan.js';

type Prepared = { event: { output: EditPlan } };

export function preparing(plan: StepPlan, step: EditStep, target: string): StateConfig {
  const { stepId } = plan;
  const record = {
    type: 'recordEditPlan' as const,
    params: ({ event }: Prepared) => ({ stepId, path: step.path, changed: event.output.changed, diff: event.output.diff }),
  };
  return resting('preparing', {
    invoke: {
      src: 'prepareEdit',
      input: ({ context }: { context: EngineContext }) => ({ step, values: valuesFor(context, step) }),
      onDone: [
        {
          guard: ({ event }: Prepared) => !event.output.changed,
          target: plan.next,
          actions: [record, { type: 'startStep', params: { stepId } }, { type: 'finishStep', params: { stepId, outcome: 'done' as const } }],
        },
        { target, actions: [record] },
      ],
      onError: failingWithError(plan),
    },
  });
}
