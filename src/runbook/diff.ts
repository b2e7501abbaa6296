// What changed between two versions of a runbook, step by step (by step id): shown when a
// session is resumed on a runbook edited since it started.
import { allSteps, type Runbook, type Step } from './types.js';

export interface StepChange {
  change: 'added' | 'removed' | 'changed';
  id: string;
  /** "2.3 restore root" in the version that has it (the new one, for changed steps). */
  label: string;
  /** For changed steps: which fields differ, e.g. ["command", "timeoutMs"]. */
  fields?: string[];
}

const IGNORED = new Set(['at', 'number']);

export function diffRunbooks(before: Runbook, after: Runbook): StepChange[] {
  const old = new Map(allSteps(before).map((step) => [step.id, step]));
  const now = new Map(allSteps(after).map((step) => [step.id, step]));
  const changes: StepChange[] = [];
  for (const [id, step] of now) {
    const previous = old.get(id);
    if (!previous) changes.push({ change: 'added', id, label: label(step) });
    else {
      const fields = differingFields(previous, step);
      if (fields.length > 0) changes.push({ change: 'changed', id, label: label(step), fields });
    }
  }
  for (const [id, step] of old) if (!now.has(id)) changes.push({ change: 'removed', id, label: label(step) });
  return changes;
}

export function formatRunbookDiff(changes: StepChange[]): string {
  if (changes.length === 0) return '  no step changed (only hosts, variables, sites or text outside the steps)';
  const marks = { added: '+', removed: '-', changed: '~' } as const;
  return changes
    .map((change) => `  ${marks[change.change]} ${change.label} (${change.id})${change.fields ? `: ${change.fields.join(', ')} changed` : ` ${change.change}`}`)
    .join('\n');
}

function label(step: Step): string {
  return `${step.number} ${step.title}`;
}

function differingFields(a: Step, b: Step): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((key) => !IGNORED.has(key)));
  return [...keys].filter(
    (key) => JSON.stringify((a as unknown as Record<string, unknown>)[key]) !== JSON.stringify((b as unknown as Record<string, unknown>)[key]),
  );
}
