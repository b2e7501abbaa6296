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

/** Cuts `text` to at most `columns` terminal columns, so that it never wraps (a \r could not rewrite it). */
function fitted(text: string, columns: number): string {
  if (terminalWidth(text) <= columns) return text;
  let cut = text;
  while (cut.length > 0 && terminalWidth(`${cut}…`) > columns) cut = cut.slice(0, Math.max(0, Math.min(cut.length - 1, columns)));
  return `${cut}…`;
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
    const next = latest
      ? fitted(`${linePrefix(latest.step)} ${latest.line.stderr ? chalk.yellow(latest.line.text) : latest.line.text}`, Math.max(10, options.columns() - 1))
      : '';
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
