// The chat keeps its history: past 20 messages, PgUp and PgDn scroll it while writing to the
// site, End shows the newest, and the panel takes more room while it is written in.
import { describe, expect, it } from 'vitest';
import { tmuxAvailable } from '../support/tmux.js';
import { tuiRuns } from '../support/tui-run.js';

describe.skipIf(!tmuxAvailable())('the chat panel', () => {
  const runs = tuiRuns('ns-chat-scroll-');

  it('scrolls back past 20 messages with PgUp, forward with PgDn, and End shows the newest', async () => {
    const term = runs.start('name: wait for the site\nphases:\n  - name: one\n    steps:\n      - checkpoint: the cable is moved\n        by: sentinel\n', {
      cols: 120,
      rows: 30,
    });
    await term.waitFor(/CHECKPOINT · 1\.1/, 20_000, 'the checkpoint');
    term.keys('t');
    await term.waitFor(/Message to the site/, 5000, 'the chat field');
    for (let n = 1; n <= 24; n++) {
      term.type(`note ${String(n).padStart(2, '0')} from the upgrader`);
      term.keys('Enter');
      await term.waitFor(new RegExp(`note ${String(n).padStart(2, '0')} from`), 5000, `message ${n}`);
    }
    let screen = term.screen();
    expect(screen).toContain('note 24 from the upgrader');
    expect(screen).not.toContain('note 01 from the upgrader');

    for (let page = 0; page < 5; page++) term.keys('PPage');
    // As far back as it goes: the oldest messages fill the panel, the last of them right above
    // the line that counts the newer ones (no blank rows left under them).
    screen = await term.waitFor((text) => text.includes('note 01 from') && /↓ \d+ newer messages/.test(text), 5000, 'the first message, scrolled back');
    const newer = Number(/↓ (\d+) newer messages/.exec(screen)![1]);
    const lastShown = 24 - newer;
    expect(lastShown).toBeGreaterThan(3);
    const rows = screen.split('\n');
    const countRow = rows.findIndex((row) => /↓ \d+ newer messages/.test(row));
    expect(rows[countRow - 1]).toContain(`note ${String(lastShown).padStart(2, '0')} from the upgrader`);
    expect(screen).not.toContain(`note ${String(lastShown + 1).padStart(2, '0')} from`);

    // A page is five messages.
    term.keys('NPage');
    const next = String(lastShown + 5).padStart(2, '0');
    screen = await term.waitFor(
      (text) => text.includes(`note ${next} from`) && !text.includes(`note ${String(lastShown + 6).padStart(2, '0')} from`),
      5000,
      'five messages forward',
    );
    expect(screen).toContain(`↓ ${newer - 5} newer messages (PgDn, End)`);

    term.keys('End');
    screen = await term.waitFor(/note 24 from the upgrader/, 5000, 'the newest again');
    expect(screen).not.toMatch(/newer messages? \(PgDn/);
    term.keys('Escape');
    term.keys('C-p');
    expect(await term.waitForExit(10_000)).toBe(4);
  }, 90_000);
});
