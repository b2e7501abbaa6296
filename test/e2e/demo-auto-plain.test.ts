// Without --plain, nightshift picks the plain front-end by itself when its output is not a
// terminal: here stdout goes to a file while stdin stays the terminal the person types in.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, freshStateDir, ROOT, typedAnswer } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

describe.skipIf(!tmuxAvailable())('nightshift demo with its output not a terminal', () => {
  let tmux: TmuxSession | undefined;
  afterEach(() => tmux?.kill());

  it('prints the plain lines, reads the answers typed in the terminal, and draws nothing full-screen', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'ns-auto-plain-')), 'out.txt');
    tmux = TmuxSession.start(['sh', '-c', `exec "$0" "${BIN}" demo > "${out}"`, process.execPath], {
      cwd: ROOT,
      env: { NIGHTSHIFT_STATE_DIR: freshStateDir() },
    });
    const term = tmux;

    // Answer each confirmation the printed lines ask for, typed in the terminal.
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').slice(0, -1) : []);
    let answered = 0;
    const deadline = Date.now() + 90_000;
    while (term.exitStatus() === null) {
      if (Date.now() > deadline) throw new Error(`the demo did not end; it printed:\n${lines().join('\n')}\nthe screen:\n${term.screen()}`);
      const asked = lines()
        .map(typedAnswer)
        .filter((answer) => answer !== undefined);
      if (asked.length > answered) {
        term.type(asked[answered]!);
        term.keys('Enter');
        answered++;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const printed = lines();
    expect(term.exitStatus(), printed.join('\n')).toBe(0);
    expect(answered).toBeGreaterThan(2);

    // One line per event: step starts with their time, remote output prefixed with its host, the end.
    expect(printed.some((line) => /^\[\d\d:\d\d:\d\d\] > 2\.1 /.test(line))).toBe(true);
    expect(printed.some((line) => line.startsWith('dolphin| '))).toBe(true);
    expect(printed.at(-1)).toMatch(/run completed$/);
    // Plain text only: no colours, no cursor movement, no alternate screen.
    expect(readFileSync(out, 'utf8')).not.toContain('\x1b');
    // The terminal shows only what was typed (echoed by the terminal) and the exit status: no frame.
    const screen = term.screen();
    expect(screen).not.toMatch(/[╭╰│]/);
    expect(screen).not.toContain('nightshift · ');
  }, 120_000);
});
