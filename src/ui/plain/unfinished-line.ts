// Plain mode on a terminal: the line a command is writing and has not ended (a progress bar
// drawn with carriage returns) shows below what was printed, rewritten in place at each look,
// as the command's own terminal would show it. Anything else printed clears it first, and it
// is drawn only after a line nightshift ended, never over a question waiting on its line.
// Pipes and files get only ended lines (plainLinesPrinter).
import chalk from 'chalk';
import type { TailLine } from '../../output/line-ring.js';
import type { Step } from '../../runbook/types.js';
import terminalWidth from '../../text/terminal-width.js';
import { linePrefix } from './plain.js';

export interface UnfinishedLines {
  /** The open outputs' lines not ended yet, with their steps. */
  unfinishedLines(): { step: Step; line: TailLine }[];
}

const CLEAR_LINE = '\r\x1b[K';

/** Cuts `text` (neutralized output: no sequences) to at most `columns` terminal columns, so that it never wraps out of reach of a carriage return. */
function fitted(text: string, columns: number): string {
  if (terminalWidth(text) <= columns) return text;
  let kept = '';
  let width = 0;
  for (const char of text) {
    const charWidth = terminalWidth(char);
    if (width + charWidth > columns - 1) break;
    kept += char;
    width += charWidth;
  }
  return `${kept}…`;
}

/**
 * Starts showing unfinished lines through `io.write`, which it wraps; returns what stops it
 * (and clears the line shown).
 */
export function showUnfinishedLines(
  io: { write(text: string): void },
  outputs: UnfinishedLines,
  options: { columns: () => number; everyMs?: number },
): () => void {
  const write = io.write.bind(io);
  let shown = '';
  let atLineStart = true;
  io.write = (text: string) => {
    if (text === '') return;
    if (shown !== '') {
      write(CLEAR_LINE);
      shown = '';
    }
    write(text);
    atLineStart = text.endsWith('\n');
  };
  const look = () => {
    if (!atLineStart) return;
    const open = outputs.unfinishedLines();
    // Steps running side by side (a rollout's batch) would fight over one line: only one is shown.
    const latest = open.length === 1 ? open[0] : undefined;
    let next = '';
    if (latest) {
      const prefix = linePrefix(latest.step);
      const text = fitted(latest.line.text, Math.max(1, options.columns() - 1 - terminalWidth(prefix) - 1));
      next = `${prefix} ${latest.line.stderr ? chalk.yellow(text) : text}`;
    }
    if (next === shown) return;
    write(next === '' ? CLEAR_LINE : `${CLEAR_LINE}${next}`);
    shown = next;
  };
  const timer = setInterval(look, options.everyMs ?? 100);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (shown !== '') write(CLEAR_LINE);
    shown = '';
    io.write = write;
  };
}
