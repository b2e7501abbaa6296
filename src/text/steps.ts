import { guardHosts } from '../runbook/guard-text.js';
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
    case 'guard':
      return `on ${guardHosts(step.guard)}`;
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

const BEFORE_WORD = /[\s"'=<>|;&(]/;
const AFTER_WORD = /[\s"'<>|;&)]/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** How plainly a line acts on `target`: as a word of its own in a command, in an assignment, or only inside a longer word. */
function actingScore(line: string, target: string): number {
  let best = 0;
  for (let at = line.indexOf(target); at !== -1; at = line.indexOf(target, at + 1)) {
    const before = at === 0 ? ' ' : line[at - 1]!;
    const after = line[at + target.length] ?? ' ';
    const word = BEFORE_WORD.test(before) && AFTER_WORD.test(after);
    best = Math.max(best, (word ? 2 : 1) * (ASSIGNMENT.test(line) ? 1 : 2));
  }
  return best;
}

/**
 * The line of a destructive command that acts on `target` (the text typed to run it): one
 * that names it as a word of its own (`sfdisk disk0.img < layout`) before one that names it
 * only inside a longer word or an assignment (`before=disk0.img.before.sfdisk`); never a
 * comment; of equals the last, since a script checks and keeps copies before it acts. Its
 * index among the command's lines, and how many there are.
 */
export function actingLine(command: string, target: string): { line: string; index: number; of: number } | undefined {
  if (target === '') return undefined;
  const lines = command.trimEnd().split('\n');
  let found: { line: string; index: number; score: number } | undefined;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#')) return;
    const score = actingScore(line, target);
    if (score > 0 && score >= (found?.score ?? 0)) found = { line, index, score };
  });
  return found ? { line: found.line, index: found.index, of: lines.length } : undefined;
}

/** What a destructive step's prompt quotes of its command: the line acting on the target, else its summary. */
export function destructiveSummary(command: string, target: string): string {
  const acting = actingLine(command, target);
  if (!acting) return commandSummary(command);
  return acting.of > 1 ? `${acting.line}   (line ${acting.index + 1} of ${acting.of})` : acting.line;
}

/**
 * What became of a step that was running when the run was paused, for the lines that say how
 * to go on: a detached command goes on on its host, a local one was stopped with nightshift,
 * anything else may or may not have finished.
 */
export function pausedStepText(step: Step): string {
  const label = `${step.number} ${step.title}`;
  if (step.kind === 'run' && step.detached) return `${label} goes on on ${step.host}; resume follows it again`;
  if (step.kind === 'local') return `${label} was stopped (TERM to what it started); resume asks whether it had finished`;
  return `${label} was under way ${stepPlace(step)}; resume asks how it ended`;
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
