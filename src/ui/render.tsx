import { render } from 'ink';
import type { Outcome } from '../engine/events.js';
import type { Run } from '../runner/run.js';
import { App } from './app.js';
import type { Questions } from './questions.js';
import { readPreferences } from '../store/preferences.js';
import { shownRun } from './shown-run.js';
import type { UpgraderChat } from './app.js';

const writeToTerminal = (text: string) => void process.stdout.write(text);

/** Shows the run full-screen until the upgrader leaves after the end, or stops it. */
export async function renderTui(
  run: Run,
  questions: Questions,
  options: { banner?: string; chat?: UpgraderChat; onFirstFrame?: () => void } = {},
): Promise<Outcome | 'interrupted'> {
  let leave!: (how: 'finished' | 'interrupted') => void;
  const left = new Promise<'finished' | 'interrupted'>((resolve) => (leave = resolve));
  const instance = render(
    <App
      run={shownRun(run)}
      questions={questions}
      {...(options.banner !== undefined ? { banner: options.banner } : {})}
      {...(options.chat ? { chat: options.chat } : {})}
      onLeave={leave}
      attention={{ bell: readPreferences().bell, write: writeToTerminal }}
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
  run.start();
  options.onFirstFrame?.();
  const how = await left;
  instance.unmount();
  await instance.waitUntilExit();
  if (how === 'interrupted') return 'interrupted';
  return run.outcome() ?? 'interrupted';
}
