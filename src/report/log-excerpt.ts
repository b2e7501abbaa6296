// The part of a step's log a report shows: the last lines, made safe to display.
import { neutralize } from '../output/neutralize.js';

/** A report shows at most this many lines of one attempt's output; the full log stays in the session folder. */
export const REPORT_LOG_LINES = 2000;
/** Lines longer than this are cut (an endless line of binary output must not swell the page). */
const MAX_LINE_CHARS = 4000;

export interface LogExcerpt {
  /** Relative to the session folder. */
  file: string;
  lines: string[];
  /** Lines of the log before the first one shown. */
  omittedLines: number;
  /** Why the log could not be read, when it could not. */
  missing?: string;
}

/**
 * `text` is the end of the log, starting at a line boundary; `linesBefore` counts the lines
 * in front of it that were not read.
 */
export function logExcerptOf(file: string, text: string, linesBefore = 0, maxLines = REPORT_LOG_LINES): LogExcerpt {
  const lines = text === '' ? [] : text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const kept = lines.slice(-maxLines);
  return {
    file,
    lines: kept.map((line) => {
      const safe = neutralize(line);
      return safe.length > MAX_LINE_CHARS ? `${safe.slice(0, MAX_LINE_CHARS)} … (${safe.length - MAX_LINE_CHARS} more characters)` : safe;
    }),
    omittedLines: linesBefore + (lines.length - kept.length),
  };
}

export function missingLog(file: string, why: string): LogExcerpt {
  return { file, lines: [], omittedLines: 0, missing: why };
}

/** Outputs by attempt, keyed "stepId.attempt". */
export type LogExcerpts = ReadonlyMap<string, LogExcerpt>;

export function attemptKey(attempt: { stepId: string; attempt: number }): string {
  return `${attempt.stepId}.${attempt.attempt}`;
}

/** A shell's screen by hand, keyed by its log file. */
export function shellKey(shell: { file: string }): string {
  return `shell:${shell.file}`;
}
