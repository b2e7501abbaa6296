// The edit step's effects as actors: prepare (read, diff), apply (after the approval) and
// undo. What was prepared is kept here, by step, until it is applied: the apply refuses a
// file that is no longer the one diffed.
import { effectActor } from './effect-actor.js';
import type { EditPlan } from '../engine/setup.js';
import type { StepOutput } from '../output/step-output.js';
import type { EditStep, Step, UndoStep } from '../runbook/types.js';
import { hostsBecoming } from './become-hosts.js';
import { applyEdit, prepareEdit, undoEdit, type PreparedEdit } from './edit-file.js';
import type { RemoteHosts } from './remote-hosts.js';
import type { RunOutputs } from './run-outputs.js';

export interface EditEffectsOptions {
  hosts: RemoteHosts;
  sessionId: string;
  outputs: RunOutputs;
  withOutput: <T>(step: Step, work: (output: StepOutput) => Promise<T>) => Promise<T>;
}

export function createEditEffects(options: EditEffectsOptions) {
  const { outputs, withOutput } = options;
  const prepared = new Map<string, PreparedEdit>();
  const context = (step: EditStep | UndoStep, output: StepOutput, signal: AbortSignal) => ({
    hosts: hostsBecoming(options.hosts, step.become, (text) => output.note(text)),
    sessionId: options.sessionId,
    signal,
  });

  const prepareEditEffect = effectActor<EditPlan, { step: EditStep; values: Record<string, string> }>(({ input, signal }) =>
    withOutput(input.step, async (output) => {
      prepared.delete(input.step.id);
      const result = await prepareEdit(input.step, input.values, context(input.step, output, signal), output);
      if (result.plan.changed) prepared.set(input.step.id, result.prepared);
      return result.plan;
    }),
  );

  const applyEditEffect = effectActor<void, { step: EditStep; values: Record<string, string> }>(({ input, signal }) => {
    const plan = prepared.get(input.step.id);
    // The change goes on in the output that shows its diff.
    if (plan !== undefined) outputs.continueLast(input.step.id);
    return withOutput(input.step, async (output) => {
      await applyEdit(input.step, plan, context(input.step, output, signal), output);
      prepared.delete(input.step.id);
    });
  });

  const undoEditEffect = effectActor<void, { step: UndoStep; editedIn?: string }>(({ input, signal }) =>
    withOutput(input.step, (output) =>
      undoEdit(input.step, { ...context(input.step, output, signal), sessionId: input.editedIn ?? options.sessionId }, output),
    ),
  );

  return { prepareEdit: prepareEditEffect, applyEdit: applyEditEffect, undoEdit: undoEditEffect };
}
