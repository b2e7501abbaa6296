// A destructive step's prompt in a real terminal: the whole command, the line that acts on
// the target marked, scrolled when it is longer than the screen; at 80x24 and 140x45.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TmuxSession } from '../support/tmux.js';
import { tmuxAvailable } from '../support/tmux.js';
import { tuiRuns } from '../support/tui-run.js';

/** A command of `extra + 6` lines whose one line writing the image is `sfdisk ... IMAGE < layout`. */
function command(image: string, extra: number): string[] {
  return [
    'set -e',
    '# Keep the table as it was, once, for the record.',
    `before=${image}.before.sfdisk`,
    `[ -e "$before" ] || sfdisk --dump ${image} > "$before"`,
    ...Array.from({ length: extra }, (_, index) => `echo "check ${index + 1} of ${extra}"`),
    `sfdisk --no-reread ${image} < layout.sfdisk`,
    'echo written',
  ];
}

describe.skipIf(!tmuxAvailable())('the destructive prompt', () => {
  const runs = tuiRuns('ns-destructive-tui-');
  const image = path.join(runs.dir, 'disk0.img');

  function start(lines: string[], cols: number, rows: number): TmuxSession {
    const runbook = [
      'name: whole command',
      'phases:',
      '  - name: disk',
      '    steps:',
      '      - title: Write the table',
      `        destructive: ${image}`,
      '        local: |',
    ];
    return runs.start([...runbook, ...lines.map((line) => `          ${line}`), ''].join('\n'), { cols, rows, name: `whole-${lines.length}-${cols}` });
  }

  /** The prompt panel's rows: from its DESTRUCTIVE heading to the line that says what to type. */
  function promptRows(screen: string): string[] {
    const rows = screen.split('\n');
    const top = rows.findIndex((row) => row.includes('DESTRUCTIVE · 1.1'));
    const bottom = rows.findIndex((row, index) => index > top && row.includes('and press Enter to run it'));
    return rows.slice(top + 1, bottom).map((row) => row.replace(/^│ /, '').replace(/\s*│$/, ''));
  }

  it.each([
    [80, 24],
    [140, 45],
  ])(
    'at %ix%i shows a 12-line command whole, the line writing the target marked',
    async (cols, rows) => {
      const lines = command(image, 6);
      expect(lines).toHaveLength(12);
      const term = start(lines, cols, rows);
      const screen = await term.waitFor(/and press Enter to run it/, 20_000, 'the destructive prompt');
      const shown = promptRows(screen);
      expect(shown).toHaveLength(12);
      expect(shown[0]).toBe('$ set -e');
      // Each line whole where it fits in the width (else cut with …), the acting one marked.
      const acting = `▶ sfdisk --no-reread ${image} < layout.sfdisk`;
      const marked = shown.find((row) => row.startsWith('▶'));
      expect(marked).toBe(acting.length <= cols - 4 ? acting : `${acting.slice(0, cols - 5)}…`);
      expect(shown.filter((row) => row.startsWith('▶'))).toHaveLength(1);
      expect(shown.at(-1)).toBe('  echo written');
      term.keys('C-p');
      expect(await term.waitForExit(10_000)).toBe(4);
    },
    60_000,
  );

  it('at 80x24 scrolls a 40-line command with PgUp and PgDn, and says where the marked line is', async () => {
    const lines = command(image, 34);
    const term = start(lines, 80, 24);
    let screen = await term.waitFor(/and press Enter to run it/, 20_000, 'the destructive prompt');
    let shown = promptRows(screen);
    // The end first: the marked line is there, with how many lines are above.
    expect(shown[0]).toMatch(/^↑ \d+ lines above \(PgUp\)$/);
    expect(shown).toContain('  echo written');
    expect(shown.some((row) => row.startsWith('▶ sfdisk'))).toBe(true);
    term.keys('PPage');
    term.keys('PPage');
    term.keys('PPage');
    term.keys('PPage');
    screen = await term.waitFor((text) => promptRows(text).includes('$ set -e'), 5000, 'the start of the command');
    shown = promptRows(screen);
    // At the start: no line above, the mark's row left empty.
    expect(shown.slice(0, 2)).toEqual(['', '$ set -e']);
    expect(shown.at(-1)).toMatch(/^↓ \d+ lines below \(PgDn\) · ▶ line 39 names /);
    term.keys('End');
    await term.waitFor((text) => promptRows(text).includes('  echo written'), 5000, 'the end again');
    term.keys('C-p');
    expect(await term.waitForExit(10_000)).toBe(4);
  }, 60_000);
});
