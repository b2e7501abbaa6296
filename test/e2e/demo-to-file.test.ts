// `nightshift demo > demo.log`: the log gets everything, and the person at the terminal still
// sees what is asked of them and how helpers join.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

describe.skipIf(!tmuxAvailable())('the demo with its output in a file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-demo-file-'));
  let tmux: TmuxSession | undefined;
  afterEach(() => tmux?.kill());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('asks on the terminal, writes the log to the file, and takes the answer typed', async () => {
    const log = path.join(dir, 'demo.log');
    tmux = TmuxSession.start(['sh', '-c', `'${process.execPath}' '${BIN}' demo > '${log}'`], {
      cwd: ROOT,
      env: { NIGHTSHIFT_STATE_DIR: freshStateDir() },
      cols: 160,
      rows: 40,
    });
    const term = tmux;
    const screen = await term.waitFor(/Type "disk0\.img" to run it, or pause:/, 60_000, 'the destructive question on the terminal');
    // The join line is long (the program's path): joined again where the terminal wrapped it.
    expect(screen.replaceAll('\n', '')).toMatch(/helpers join with: .+ · code \d{3}-\d{3}-\d{3} · key SHA256:/);
    // Output lines stay in the file only.
    expect(screen).not.toMatch(/^dragon\| /m);
    expect(readFileSync(log, 'utf8')).toMatch(/^dragon\| /m);
    expect(readFileSync(log, 'utf8')).toContain('Type "disk0.img" to run it, or pause:');
    term.type('pause');
    term.keys('Enter');
    expect(await term.waitForExit(30_000)).toBe(4);
  }, 90_000);
});
