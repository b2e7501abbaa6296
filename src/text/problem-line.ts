import { visibleLine } from '../output/neutralize.js';
import { formatProblem, type RunbookProblem } from '../runbook/errors.js';

/** A runbook problem as one line a terminal shows as it is: it may quote the runbook's own text. */
export function problemLine(problem: RunbookProblem): string {
  return `${visibleLine(formatProblem(problem))}\n`;
}
