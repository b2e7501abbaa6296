import { render } from 'ink';
import type { ChatHub, Participant } from '../../chat/hub.js';
import type { Run } from '../../runner/run.js';
import { shownRun } from '../shown-run.js';
import { HelperApp } from './helper-app.js';

/** A helper's terminal as Ink needs it: the SSH channel's keys in, its screen out. */
export interface HelperScreen {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/** Shows the helper view on a helper's terminal until `onQuit` or the returned stop. */
export function renderHelperView(screen: HelperScreen, props: { run: Run; hub: ChatHub; me: Participant; onQuit(): void }): () => void {
  const instance = render(<HelperApp {...props} run={shownRun(props.run)} />, {
    stdin: screen.input,
    stdout: screen.output,
    // Ink would otherwise judge by process.stdout and the CI variable, not by this terminal.
    interactive: true,
    patchConsole: false,
    exitOnCtrlC: false,
    alternateScreen: true,
    maxFps: 10,
  });
  return () => instance.unmount();
}
