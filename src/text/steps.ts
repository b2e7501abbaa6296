import type { Role, Step } from '../runbook/types.js';

/** Where a step runs, for headings: "on dolphin", "locally", or who confirms. */
export function stepPlace(step: Step): string {
  switch (step.kind) {
    case 'run':
    case 'wait':
    case 'upload':
    case 'reboot':
    case 'preflight':
    case 'edit':
    case 'undo':
      return `on ${step.host}`;
    case 'local':
      return 'locally';
    case 'checkpoint':
      return step.by === 'both' ? 'upgrader and sentinel' : step.by;
    case 'note':
      return 'note';
  }
}

/** What `needs: hands` means, for prompts (runbook/plan.ts says the same in the plan). */
export const HANDS_TEXT = 'needs hands on site';

export function roleList(roles: Role[]): string {
  return roles.map((role) => `the ${role}`).join(' and ');
}

export function stepLabel(step: Step): string {
  return `${step.number} ${step.title}`;
}

/** The line of a command that says what it does: not blank, not a comment, not `set -e`; "…" when more follows. */
export function commandSummary(command: string): string {
  const lines = command.split('\n').map((line) => line.trim());
  const meaningful = lines.filter((line) => line !== '' && !line.startsWith('#') && !/^set\s+-[a-z]+$/.test(line));
  const first = meaningful[0] ?? lines[0] ?? '';
  return meaningful.length > 1 ? `${first} …` : first;
}

/** What a confirmation asks for: the sentinel's request about a failed step, else the checkpoint's text. */
export function confirmationText(step: Step, request: string | undefined): string {
  if (request !== undefined) return request;
  return step.kind === 'checkpoint' ? step.text : step.title;
}

/** What the sentinel is asked by default when a reboot did not come back within its bound. */
export function rebootSiteRequest(step: Step): string {
  const host = 'host' in step ? step.host : 'the machine';
  return `${host} did not come back from its reboot (step ${step.number}). Look at its screen: if it hangs or shows an error, power-cycle it. Type /ok once it is starting again.`;
}
