import { type Instance, render } from 'ink';
import type { Outcome } from '../engine/events.js';
import { openHandShell, shellEndText, shellIntroText } from '../runner/hand-shell.js';
import type { Run } from '../runner/run.js';
import { visibleLine } from '../output/neutralize.js';
import { App } from './app.js';
import { BELL } from './attention.js';
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
  // The view leaves the terminal to the shell (the run goes on) and is drawn anew after it.
  const openShell: ShellOpener = async (host, stepId) => {
    if (shellOpen) return;
    shellOpen = true;
    try {
      const size = { cols: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24, term: process.env['TERM'] || 'xterm-256color' };
      const shell = await openHandShell(run, host, stepId, size);
      instance.unmount();
      await instance.waitUntilExit();
      // The shell starts on a clear screen (what was there stays in the scrollback).
      process.stdout.write(`${CLEAR_SCREEN}${shellIntroText(shell)}`);
      // The run goes on meanwhile: what starts waiting for the upgrader rings the bell (the view says what, once back).
      const stopRinging = bell
        ? run.onEvent((event) => {
            if (event.type === 'step.waiting' ? event.for !== 'confirmation' || event.roles.includes('upgrader') : event.type === 'run.finished')
              writeToTerminal(BELL);
          })
        : () => {};
      // Whatever becomes of the shell, the view comes back.
      let greeting = `the shell on ${host} failed`;
      try {
        greeting = shellEndText(shell, await shell.attach({ input: process.stdin, output: process.stdout }));
      } catch (error) {
        greeting = `the shell on ${host} failed: ${(error as Error).message}`;
      } finally {
        stopRinging();
        instance = mount(visibleLine(greeting));
      }
    } finally {
      shellOpen = false;
    }
  };
  const mount = (greeting?: string): Instance =>
    render(
      <App
        run={shown}
        questions={questions}
        {...(options.banner !== undefined ? { banner: options.banner } : {})}
        {...(options.chat ? { chat: options.chat } : {})}
        onLeave={leave}
        attention={{ bell, write: writeToTerminal }}
        openShell={openShell}
        {...(greeting !== undefined ? { greeting } : {})}
      />,
      {
        alternateScreen: true,
        exitOnCtrlC: false,
        // Ink draws a frame at most every 1000/maxFps ms and holds a key's frame until then: at 60
        // a key pressed just after a frame waited up to 17 ms with the process idle. The machine's
        // and the output's changes are drawn at most every FRAME_MS whatever this is (hooks.ts).
        maxFps: 120,
        incrementalRendering: true,
      },
    );
  let instance = mount();
  run.start();
  options.onFirstFrame?.();
  const how = await left;
  instance.unmount();
  await instance.waitUntilExit();
  if (how === 'interrupted') return 'interrupted';
  return run.outcome() ?? 'interrupted';
}
