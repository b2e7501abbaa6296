// What the journal says about each step at the start of a session, so that a record
// (nightshift report, nightshift sessions) needs nothing but the session's folder.
import { guardStepText } from '../runbook/guard-text.js';
import type { Runbook, Step } from '../runbook/types.js';
import { allSteps } from '../runbook/types.js';
import { describeCheck } from '../runbook/plan.js';
import { stepPlace } from '../text/steps.js';

export interface StepSummary {
  id: string;
  number: string;
  /** null for fallback steps */
  phase: string | null;
  title: string;
  kind: Step['kind'];
  /** "on dolphin", "locally", "sentinel", ... */
  place: string;
  /** The command as run (variables substituted), or what the step does when it is no command. */
  command?: string;
  /** A checkpoint's or note's text. */
  text?: string;
}

export function summarizeStep(step: Step): StepSummary {
  const base = { id: step.id, number: step.number, phase: step.phase, title: step.title, kind: step.kind, place: stepPlace(step) };
  switch (step.kind) {
    case 'run':
    case 'local':
    case 'reboot':
      return { ...base, command: step.command };
    case 'preflight':
      return { ...base, text: step.checks.map(describeCheck).join('\n') };
    case 'upload':
      return { ...base, command: `upload ${step.localPath} to ${step.host}:${step.remotePath}` };
    case 'wait': {
      const until = step.until;
      const what = until.kind === 'ssh' ? 'SSH answers' : until.kind === 'port' ? `port ${until.port} is open` : until.command;
      return { ...base, command: `wait until ${what}` };
    }
    case 'checkpoint':
    case 'note':
      return { ...base, text: step.text };
    case 'edit':
      return { ...base, command: `edit ${step.host}:${step.path}` };
    case 'undo':
      return { ...base, command: `undo step ${step.stepId}: put back ${step.host}:${step.path}` };
    case 'guard':
      return { ...base, text: guardStepText(step) };
  }
}

export function summarizeRunbook(runbook: Runbook) {
  return {
    phases: runbook.phases.map((phase) => ({ name: phase.name, title: phase.title })),
    steps: allSteps(runbook).map(summarizeStep),
  };
}
