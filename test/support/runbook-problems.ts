// What the loader says of a runbook's text, as "line:col: message" lines (none when it loads).
import { RunbookError } from '../../src/runbook/errors.js';
import { parseRunbook } from '../../src/runbook/load.js';

export function problemsOf(source: string): string[] {
  try {
    parseRunbook(source, 'rb.yaml');
  } catch (error) {
    if (error instanceof RunbookError) return error.problems.map((p) => `${p.line}:${p.col}: ${p.message}`);
    throw error;
  }
  return [];
}
