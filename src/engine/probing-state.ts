// A step whose check is asked first (`skip_done`, going again): a check that passes marks
// the step done, journaled with what it printed, instead of running it. A check that does
// not pass lets the step run as usual; a check that cannot be asked (its host unreachable)
// fails the step as its effect's error would.
import type { LocalStep, RunStep } from '../runbook/types.js';
import type { ProbeResult, StateConfig } from './setup.js';
import { failingWithError, resting, type StepPlan } from './step-plan.js';

type Probed = { event: { output: ProbeResult } };

export function probing(plan: StepPlan, check: RunStep | LocalStep, target: string): StateConfig {
  const { stepId } = plan;
  return resting('probing', {
    invoke: {
      src: 'probeDone',
      input: { step: check },
      onDone: [
        {
          guard: { type: 'exitedZero', params: ({ event }: Probed) => ({ exitCode: event.output.exitCode }) },
          target: plan.next,
          actions: [{ type: 'findDone', params: ({ event }: Probed) => ({ stepId, output: event.output.output }) }],
        },
        { target },
      ],
      onError: failingWithError(plan),
    },
  });
}
