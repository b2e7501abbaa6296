// How a run talks to the upgrader before and around its front-end: plain lines or the
// full-screen view, one reader of stdin for every answer, the questions also on the terminal.
import { openSync, writeSync } from 'node:fs';
import type { Runbook } from '../runbook/types.js';
import { terminalHideTyping } from '../ui/plain/hidden-typing.js';
import { LineReader } from '../ui/plain/line-reader.js';
import type { PlainIO } from '../ui/plain/plain.js';

export interface FrontEndOptions {
  plain: boolean;
  json: boolean;
  /** A line shown before the run starts (the demo says how the lab was set up). */
  banner?: string;
}

/**
 * The full-screen view's code (Ink, React, Yoga): a plain run never loads it, a full-screen
 * one starts loading it at once, so that it loads while the runbook is read and the hosts
 * are checked instead of after.
 */
let fullScreenView: Promise<typeof import('../ui/render.js')> | undefined;

/** The full-screen view's code, loading or loaded. */
export function fullScreenViewCode(): Promise<typeof import('../ui/render.js')> {
  return (fullScreenView ??= import('../ui/render.js'));
}

export function loadFullScreenViewEarly(frontEnd: FrontEndOptions): void {
  if (isPlain(frontEnd) || fullScreenView) return;
  // Awaited when drawn; a failure is reported there, not as an unhandled rejection meanwhile.
  fullScreenViewCode().catch(() => undefined);
}

/** Plain lines rather than the full-screen view: asked for, JSON, or no terminal on either end. */
export function isPlain(frontEnd: FrontEndOptions): boolean {
  return frontEnd.plain || frontEnd.json || !process.stdout.isTTY || !process.stdin.isTTY;
}

let stdinLines: LineReader | null = null;
/** The plain mode's answers: one reader of stdin for the secrets asked first and every question after. */
export function stdinReader(): LineReader {
  return (stdinLines ??= new LineReader(process.stdin));
}

/**
 * Plain or JSON lines when asked for or when there is no terminal; null for the full-screen
 * view. On the one reader of stdin: the check before the run, the secrets and the run take
 * their answers from the same lines.
 */
export function plainIO(frontEnd: FrontEndOptions, runbook: Runbook): PlainIO | null {
  if (!isPlain(frontEnd)) return null;
  return {
    reader: stdinReader(),
    write: (text: string) => void process.stdout.write(text),
    json: frontEnd.json,
    tz: runbook.sites.upgrader.tz,
    ...(process.stdin.isTTY ? { hideTyping: terminalHideTyping } : {}),
    ...questionsOnTerminal(),
  };
}

let terminalOut: ((text: string) => void) | null | undefined;

/**
 * Someone types the answers on a terminal while stdout goes to a file (`nightshift demo >
 * demo.log`): the questions and the join line go to the terminal as well, on stderr when that
 * is the terminal, else on /dev/tty. Nothing when stdout is the terminal or nobody types.
 */
export function questionsOnTerminal(): { alsoOnTerminal?: (text: string) => void } {
  if (terminalOut === undefined) {
    terminalOut = null;
    if (!process.stdout.isTTY && process.stdin.isTTY) {
      if (process.stderr.isTTY) terminalOut = (text) => void process.stderr.write(text);
      else {
        try {
          const fd = openSync('/dev/tty', 'w');
          terminalOut = (text) => void writeSync(fd, text);
        } catch {
          // no controlling terminal: the file has them
        }
      }
    }
  }
  return terminalOut ? { alsoOnTerminal: terminalOut } : {};
}
