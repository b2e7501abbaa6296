// A long line of output is cut at the panel's width; w wraps it whole, so the end of an
// error message is there to read, and w again cuts it.
import { describe, expect, it } from 'vitest';
import { tmuxAvailable } from '../support/tmux.js';
import { tuiRuns } from '../support/tui-run.js';

describe.skipIf(!tmuxAvailable())('long output lines', () => {
  const runs = tuiRuns('ns-wrap-tui-');

  it('at 80x24, w wraps a 300-character error whole, and w again cuts it', async () => {
    const filler = 'x'.repeat(280);
    const term = runs.start(`name: long error\nphases:\n  - name: one\n    steps:\n      - local: 'echo "error: ${filler} END-OF-ERROR" >&2; exit 1'\n`, {
      cols: 80,
      rows: 24,
    });
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
