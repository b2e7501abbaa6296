// How to run nightshift again on this machine, exactly as the user can type it: the words
// of every "to go on: ... resume ID" and join line.
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { shellQuote } from '../runbook/shell-quote.js';

/**
 * `nightshift` when that name on the PATH is this program, else the program's own path (the
 * repository's bin script on its Node, or the standalone executable), which works from any
 * folder and terminal, as `npm run` does not.
 */
export function selfCommand(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv, execPath = process.execPath): string {
  const script = argv[1] && /nightshift(\.js)?$/.test(argv[1]) ? argv[1] : undefined;
  const program = script ?? execPath;
  const onPath = (env['PATH'] ?? '')
    .split(':')
    .filter((dir) => dir !== '')
    .map((dir) => path.join(dir, 'nightshift'))
    .find((candidate) => existsSync(candidate));
  if (onPath && sameFile(onPath, program)) return 'nightshift';
  return (script ? [execPath, script] : [execPath]).map(shellQuote).join(' ');
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
