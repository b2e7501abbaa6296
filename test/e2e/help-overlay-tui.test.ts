// The key list (?) on an 80x24 terminal: drawn inside its box with the frame whole around
// it, scrolled with PgUp/PgDn, every key reachable, and closed with Esc.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpList } from '../../src/ui/key-map.js';
import { tmuxAvailable } from '../support/tmux.js';
import { tuiRuns } from '../support/tui-run.js';

/** After a change to the key list or the layout on purpose: NIGHTSHIFT_UPDATE_SCREENS=1 writes it anew; its diff is what to review. */
const EXPECTED_SCREEN = path.join(import.meta.dirname, 'expected-screens', 'help-80x24.txt');

describe.skipIf(!tmuxAvailable())('the key list', () => {
  const runs = tuiRuns('ns-help-tui-');

  it('at 80x24 keeps the frame whole, scrolls, and lists every key', async () => {
    const term = runs.start("name: fails\nphases:\n  - name: one\n    steps:\n      - local: 'echo no; exit 1'\n", { cols: 80, rows: 24 });
    await term.waitFor(/FAILED · 1\.1/, 20_000, 'the failure prompt');
    term.keys('?');
    let screen = await term.waitFor(/Keys · PgUp PgDn scroll/, 5000, 'the key list');
    // The whole first page, as drawn, against the one committed (times and the session id made constant).
    const drawn = `${screen
      .replace(/\n$/, '')
      .replace(/\d{8}-\d{6}-[0-9a-f]{4}/g, 'YYYYMMDD-HHMMSS-XXXX')
      .replace(/\b\w{3} \d\d:\d\d\b/g, 'Day HH:MM')
      // A step's time is right-aligned: its last character stays in place.
      .replace(/ +\d+(\.\d+)?(ms|s)\b/g, (time) => 'T'.padStart(time.length, ' '))}\n`;
    if (process.env['NIGHTSHIFT_UPDATE_SCREENS'] === '1') writeFileSync(EXPECTED_SCREEN, drawn);
    expect(drawn).toBe(readFileSync(EXPECTED_SCREEN, 'utf8'));
    const seen = new Set<string>();
    for (let page = 0; page < 30; page++) {
      const rows = screen.replace(/\n$/, '').split('\n');
      // The frame: the title on top, the status bar at the bottom, nothing drawn over the box.
      expect(rows).toHaveLength(24);
      expect(rows[0]).toMatch(/^nightshift · fails/);
      expect(rows[23]).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4} /);
      const inside = rows.filter((row) => /│ \S.*│$/.test(row.slice(30)));
      for (const row of inside) seen.add(row.slice(30));
      if (!screen.includes('more rows (PgDn)')) break;
      const before = screen;
      term.keys('NPage');
      screen = await term.waitFor((text) => text !== before, 5000, 'the next page of keys');
    }
    const listed = [...seen].join('\n');
    for (const [key] of helpList()) expect(listed, `the key ${key}`).toContain(`│ ${key}`);
    term.keys('Escape');
    await term.waitFor((text) => !text.includes('Keys · '), 5000, 'the list closed');
    term.keys('p');
    expect(await term.waitForExit(10_000)).toBe(4);
  }, 60_000);
});
