import { render } from 'ink';
import type { Outcome } from '../engine/events.js';
import { openHandShell, ShellKeys, shellEndText, shellIntroText, shellOpeningText } from '../runner/hand-shell.js';
import type { Run } from '../runner/run.js';
import { App } from './app.js';
import type { Questions } from './questions.js';
import { readPreferences } from '../store/preferences.js';
import { shownRun } from './shown-run.js';
import type { UpgraderChat } from './app.js';
import type { ShellOpener } from './use-upgrader-keys.js';

const CLEAR_SCREEN = '\x1b[H\x1b[2J';
const writeToTerminal = (text: string) => void process.stdout.write(text);

/** Shows the run full-screen until the upgrader leaves after the end, or stops it. */
export async function renderTui(
  run: Run,
  questions: Questions,
  options: { banner?: string; chat?: UpgraderChat; onFirstFrame?: () => void } = {},
): Promise<Outcome | 'interrupted'> {
  let leave!: (how: 'finished' | 'interrupted') => void;
  const left = new Promise<'finished' | 'interrupted'>((resolve) => (leave = resolve));
  const shown = shownRun(run);
  const bell = readPreferences().bell;
  let shellOpen = false;
  // Inside Ink's suspension the view steps aside (the run goes on) and is drawn again after.
  // It steps aside at once: what is typed while the shell opens is the shell's, never the view's.
  const openShell: ShellOpener = async (host, stepId, suspend) => {
    if (shellOpen) throw new Error('a shell is open already');
    shellOpen = true;
    try {
      const size = { cols: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24, term: process.env['TERM'] || 'xterm-256color' };
      let ended: string | Error = new Error(`the shell on ${host} failed`);
      await suspend(async () => {
        // The shell starts on a clear screen (what was there stays in the scrollback).
        process.stdout.write(`${CLEAR_SCREEN}${shellOpeningText(host)}`);
        const keys = new ShellKeys({ input: process.stdin, output: process.stdout });
        try {
          const shell = await openHandShell(run, host, stepId, size, keys.givenUp);
          process.stdout.write(`${CLEAR_SCREEN}${shellIntroText(shell)}`);
          // The view's state goes on meanwhile: what starts waiting for the upgrader rings the bell
          // and titles the window (ui/attention.ts writes straight to the terminal).
          try {
            ended = shellEndText(shell, await shell.attach(keys));
          } catch (error) {
            ended = `the shell on ${host} failed: ${(error as Error).message}`;
          }
        } catch (error) {
          // No shell: said as the view's answer to the !.
          ended = error as Error;
        } finally {
          await keys.release();
        }
      });
      if (ended instanceof Error) throw ended;
      return ended;
    } finally {
      shellOpen = false;
    }
  };
  const instance = render(
    <App
      run={shown}
      questions={questions}
      {...(options.banner !== undefined ? { banner: options.banner } : {})}
      {...(options.chat ? { chat: options.chat } : {})}
      onLeave={leave}
      attention={{ bell, write: writeToTerminal }}
      openShell={openShell}
    />,
    {
      alternateScreen: true,
      exitOnCtrlC: false,
      // Ink draws a frame at most every 1000/maxFps ms and holds a key's frame until then: at 120
      // a key pressed just after one of the output's frames waited up to 8 ms with the process
      // idle (a tenth of the keys while a step printed, p99 19 ms against 6 ms now). What draws
      // often is paced already: the machine's and the output's changes at most every FRAME_MS
      // (hooks.ts), so this throttle only joins commits that come within a millisecond.
      maxFps: 1000,
      incrementalRendering: true,
    },
  );
  run.start();
  options.onFirstFrame?.();
  const how = await left;
  instance.unmount();
  await instance.waitUntilExit();
  if (how === 'interrupted') return 'interrupted';
  return run.outcome() ?? 'interrupted';
}
