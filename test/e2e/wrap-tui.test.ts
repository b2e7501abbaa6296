// A long line of output is cut at the panel's width; w wraps it whole, so the end of an
// error message is there to read, and w again cuts it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

describe.skipIf(!tmuxAvailable())('long output lines', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-wrap-tui-'));
  let tmux: TmuxSession | undefined;
  afterEach(() => tmux?.kill());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('at 80x24, w wraps a 300-character error whole, and w again cuts it', async () => {
    const runbook = path.join(dir, 'long.yaml');
    const filler = 'x'.repeat(280);
    writeFileSync(runbook, `name: long error\nphases:\n  - name: one\n    steps:\n      - local: 'echo "error: ${filler} END-OF-ERROR" >&2; exit 1'\n`);
    tmux = TmuxSession.start([process.execPath, BIN, 'run', runbook, '--no-helpers'], {
      cwd: ROOT,
      env: { NIGHTSHIFT_STATE_DIR: freshStateDir() },
      cols: 80,
      rows: 24,
    });
    const term = tmux;
    let screen = await term.waitFor(/FAILED · 1\.1/, 20_000, 'the failure prompt');
    expect(screen).toMatch(/│error: x+…│/);
    expect(screen).not.toContain('END-OF-ERROR');
    term.keys('w');
    screen = await term.waitFor(/END-OF-ERROR/, 5000, 'the end of the line, wrapped');
    expect(screen).toMatch(/│error: x+│/);
    term.keys('w');
    screen = await term.waitFor((text) => !text.includes('END-OF-ERROR'), 5000, 'the line cut again');
    term.keys('p');
    expect(await term.waitForExit(10_000)).toBe(4);
  }, 60_000);
});
