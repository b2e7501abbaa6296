import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

if (!tmuxAvailable()) console.warn('\n*** tmux is not installed: the end-to-end tests cannot run (apt-get install tmux) ***\n');

describe.skipIf(!tmuxAvailable())('nightshift demo in a real terminal, driven by keys', () => {
  let tmux: TmuxSession | undefined;
  afterEach(() => tmux?.kill());

  it('runs to the end: typed confirmations, a refused one, help, resizing', async () => {
    const stateDir = freshStateDir();
    tmux = TmuxSession.start([process.execPath, BIN, 'demo'], { cwd: ROOT, env: { NIGHTSHIFT_STATE_DIR: stateDir } });
    const term = tmux;

    // The full-screen view: runbook, status bar with hosts and both sites' clocks.
    let screen = await term.waitFor(/DESTRUCTIVE/, 20_000, 'the first destructive step');
    expect(screen).toMatch(/nightshift · /);
    expect(screen).toMatch(/dragon/);
    expect(screen).toMatch(/\d\d:\d\d/);

    // A wrong text is refused on screen and nothing runs.
    const expected = /Type "([^"]+)" and press Enter to run it/.exec(screen)![1]!;
    term.type('wrong');
    term.keys('Enter');
    await term.waitFor(/not accepted: the typed text does not match/, 5000);

    term.keys('?');
    await term.waitFor(/Ctrl-C twice/, 5000, 'the key list');
    term.keys('?');
    await term.waitFor((s) => !/Ctrl-C twice/.test(s), 5000, 'the key list to close');

    term.resize(100, 30);
    await term.waitFor((s) => s.split('\n').length <= 31 && /DESTRUCTIVE/.test(s), 5000, 'a redraw at 100x30');

    term.type(expected);
    term.keys('Enter');

    // From here on: answer whatever is asked, the way a person reads the screen.
    const deadline = Date.now() + 60_000;
    let answered = 0;
    // A prompt is read only when its heading and what it asks are both on screen.
    const PROMPT = /(?:DESTRUCTIVE|CHECKPOINT) · [^\n]*[\s\S]*?(?:Type "([^"]+)" and press Enter|y confirm)/;
    for (;;) {
      screen = await term.waitFor(
        (s) => PROMPT.test(s) || /The run completed|FAILED ·/.test(s),
        Math.max(1000, deadline - Date.now()),
        'a prompt or the end',
      );
      if (/FAILED ·/.test(screen)) throw new Error(`a demo step failed:\n${screen}`);
      if (/The run completed/.test(screen)) break;
      const match = PROMPT.exec(screen)!;
      const asked = match[0].split('\n')[0]!;
      if (match[1] !== undefined) {
        term.type(match[1]);
        term.keys('Enter');
      } else term.keys('y');
      answered++;
      await term.waitFor((s) => !s.includes(asked), 10_000, `the prompt "${asked}" to be answered`);
    }
    expect(answered).toBeGreaterThan(0);
    expect(screen).toMatch(/✓/);
    term.keys('q');
    expect(await term.waitForExit(10_000)).toBe(0);

    const sessions = path.join(stateDir, 'sessions');
    const journal = readJournal(path.join(sessions, readdirSync(sessions)[0]!, 'journal.jsonl'));
    expect(journal.find((entry) => entry.type === 'run.finished')).toMatchObject({ outcome: 'completed' });
    expect(journal.filter((entry) => entry.type === 'step.refused')).toHaveLength(1);
  }, 120_000);
});
