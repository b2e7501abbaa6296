// Searching the output in a real terminal, as in less: / and the text go back to the newest
// match, n to the one before, N to the one after; the match is marked.
import { describe, expect, it } from 'vitest';
import { tmuxAvailable } from '../support/tmux.js';
import { tuiRuns } from '../support/tui-run.js';

describe.skipIf(!tmuxAvailable())('searching the output', () => {
  const runs = tuiRuns('ns-search-tui-');

  /** The last output line on screen: the row above the output panel's bottom border (the runbook panel goes on beside it). */
  function bottomLine(screen: string): string {
    const rows = screen.split('\n');
    return rows[rows.findIndex((row) => /│╰─+╯$/.test(row)) - 1] ?? '';
  }

  it('at 80x24 finds the newest match, goes back with n and on with N, and says when there is none further', async () => {
    const term = runs.start(
      `name: noisy\nphases:\n  - name: one\n    steps:\n      - local: 'for i in $(seq 1 60); do if [ $((i % 20)) -eq 10 ]; then echo "line $i ERROR code 17"; else echo "line $i ok"; fi; done; exit 1'\n`,
      { cols: 80, rows: 24 },
    );
    await term.waitFor(/FAILED · 1\.1/, 20_000, 'the failure prompt');
    const at = async (line: number) =>
      term.waitFor((screen) => new RegExp(`│line ${line} ERROR code 17\\s*│`).test(bottomLine(screen)), 5000, `line ${line} at the bottom`);

    term.keys('/');
    await term.waitFor(/Search the output shown/, 5000, 'the search field');
    term.type('error');
    term.keys('Enter');
    await at(50);
    // Marked: the match is drawn inverse.
    expect(term.styledScreen()).toMatch(/\u001b\[7mERROR/);
    term.keys('n');
    await at(30);
    term.keys('n');
    await at(10);
    term.keys('n');
    await term.waitFor(/"error" is not further back in the 60 lines shown/, 5000, 'none further back');
    term.keys('N');
    await at(30);
    term.keys('p');
    expect(await term.waitForExit(10_000)).toBe(4);
  }, 60_000);
});
