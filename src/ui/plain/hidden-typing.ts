// Typing a secret on the terminal without it being shown: echo turned off with stty, which
// keeps the line editing (backspace, Ctrl-U) that raw mode would lose, and turned back on
// afterwards, also when nightshift exits meanwhile.
import { spawnSync } from 'node:child_process';

/** Turns the terminal's echo off; the returned function turns it back on. Throws when it cannot. */
export type HideTyping = () => () => void;

/** For stdin on a terminal: echo off with stty. */
export function terminalHideTyping(): () => void {
  const saved = stty(['-g']).trim();
  stty(['-echo']);
  let shown = false;
  const show = () => {
    if (shown) return;
    shown = true;
    process.off('exit', show);
    try {
      stty([saved]);
    } catch {
      // the terminal is gone
    }
  };
  process.on('exit', show);
  return show;
}

function stty(args: string[]): string {
  const result = spawnSync('stty', args, { stdio: ['inherit', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error) throw new Error(`cannot run stty to hide what is typed: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`stty ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}
