// The chat keeps its history: past 20 messages, PgUp and PgDn scroll it while writing to the
// site, End shows the newest, and the panel takes more room while it is written in.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

describe.skipIf(!tmuxAvailable())('the chat panel', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-chat-scroll-'));
  const runbook = path.join(dir, 'wait.yaml');
  writeFileSync(runbook, 'name: wait for the site\nphases:\n  - name: one\n    steps:\n      - checkpoint: the cable is moved\n        by: sentinel\n');
  let tmux: TmuxSession | undefined;
  afterEach(() => tmux?.kill());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('scrolls back past 20 messages with PgUp, forward with PgDn, and End shows the newest', async () => {
    tmux = TmuxSession.start([process.execPath, BIN, 'run', runbook, '--no-helpers'], {
      cwd: ROOT,
      env: { NIGHTSHIFT_STATE_DIR: freshStateDir() },
      cols: 120,
      rows: 30,
    });
    const term = tmux;
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
    // As far back as it goes: the oldest message is the last one shown.
    screen = await term.waitFor(/↓ 23 newer messages/, 5000, 'the first message, scrolled back');
    expect(screen).toContain('note 01 from the upgrader');
    expect(screen).not.toContain('note 24 from the upgrader');

    // Scrolled back as far as it goes (the oldest message last on screen); a page is five messages.
    term.keys('NPage');
    screen = await term.waitFor((text) => text.includes('note 06 from') && !text.includes('note 07 from'), 5000, 'five messages forward');
    expect(screen).toContain('↓ 18 newer messages (PgDn, End)');

    term.keys('End');
    screen = await term.waitFor(/note 24 from the upgrader/, 5000, 'the newest again');
    expect(screen).not.toMatch(/newer messages? \(PgDn/);
    term.keys('Escape');
    term.keys('C-p');
    expect(await term.waitForExit(10_000)).toBe(4);
  }, 90_000);
});
