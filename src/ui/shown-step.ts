// Which step's output is on screen while the run is followed: one rule for the upgrader's
// output panel and the helper's Tab view, so that both look at the same.
import type { Step } from '../runbook/types.js';
import type { Prompt } from './prompt.js';

/**
 * The step whose output the panel shows (the upgrader's, and the helper's Tab view as it
 * follows the run): the one looked back at, else a selected host's (`hostStep`: its step,
 * null while it is queued; undefined when no host is selected), else the failed host asked
 * about, else the step in focus, except a checkpoint or a note, which print nothing: the
 * last step that printed is what the people look at then.
 */
export function shownStepIdOf(args: {
  history: string | null;
  hostStep: string | null | undefined;
  prompt: Prompt;
  focusStepId: string | undefined;
  lastStepId: string | null;
  stepOf: (stepId: string) => Step;
}): string | null {
  if (args.history !== null) return args.history;
  if (args.hostStep !== undefined) return args.hostStep;
  if (args.prompt.kind === 'host-decision') return args.prompt.step.id;
  const focus = args.focusStepId === undefined ? undefined : args.stepOf(args.focusStepId);
  if (focus && (focus.kind === 'checkpoint' || focus.kind === 'note') && args.lastStepId !== null) return args.lastStepId;
  return args.focusStepId ?? args.lastStepId;
}
