// A step with `when:` starts here: its conditions are decided (by the decideWhen effect,
// which gathers the facts of its hosts once) before anything else, and a condition that
// does not hold skips the step with the reason. When they cannot be decided (a host that
// cannot be reached for its facts), the step fails; a retry decides again.
import { valuesFor, type EngineContext } from './context.js';
import type { StateConfig, WhenDecision } from './setup.js';
import { allows, failingWithError, resting, type StepPlan } from './step-plan.js';

type Decided = { event: { output: WhenDecision } };

/** The states of deciding: `deciding` itself, and `undecided` for when it could not be decided. */
export function deciding(plan: StepPlan, target: string): StateConfig {
  const { step, stepId } = plan;
  const holds = ({ event }: Decided) => event.output.holds;
  const skip = { type: 'skipUnmet' as const, params: ({ event }: Decided) => ({ stepId, reason: event.output.reason }) };
  // A failure to decide goes the usual ways, but one that comes back to the upgrader comes to `undecided`, whose retry decides again.
  const onError = failingWithError(plan).map((transition) => (transition.target === 'failed' ? { ...transition, target: 'undecided' } : transition));
  return {
    initial: 'deciding',
    states: {
      deciding: resting('deciding', {
        invoke: {
          src: 'decideWhen',
          input: ({ context }: { context: EngineContext }) => ({ step, values: valuesFor(context, step) }),
          onDone: [
            { guard: holds, target: `#${plan.stateId}.${target}` },
            { target: plan.next, actions: [skip] },
          ],
          onError,
        },
      }),
      undecided: resting('failed', {
        entry: [{ type: 'awaitHumans', params: { stepId, for: 'decision' } }],
        on: {
          RETRY: [{ guard: allows(plan, 'failed'), target: 'deciding', actions: [{ type: 'decide', params: { stepId, action: 'retry' } }] }],
          SKIP: [{ guard: allows(plan, 'failed'), target: plan.next, actions: [{ type: 'decide', params: { stepId, action: 'skip' } }] }],
        },
      }),
    },
  };
}
