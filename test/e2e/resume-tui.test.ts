// Resuming in the full-screen view, in a real terminal: the step in focus shows what it
// printed before the pause, and p saves and leaves again.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, converse, freshStateDir, ROOT } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';
import { tuiRuns } from '../support/tui-run.js';

describe.skipIf(!tmuxAvailable())('nightshift resume in a real terminal', () => {
  let tmux: TmuxSession | undefined;
  afterEach(() => tmux?.kill());
  const runs = tuiRuns('ns-resume-tui-');

  it('shows the failed step with its output from before the pause, and pauses again with p', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-resume-tui-'));
    const runbook = path.join(dir, 'failing.yaml');
    writeFileSync(
      runbook,
      'name: failing restore\nphases:\n  - name: restore\n    steps:\n      - local: \'for part in usr var; do echo "restoring /$part"; done; echo "tar: no space left" | tr a-z A-Z >&2; exit 2\'\n        id: restore\n',
    );
    const env = { NIGHTSHIFT_STATE_DIR: freshStateDir() };
    const first = converse(['run', '--plain', runbook], (line) => (/Answer retry/.test(line) ? 'pause' : undefined), env);
    expect(await first.exited).toBe(4);

    tmux = TmuxSession.start([process.execPath, BIN, 'resume'], { cwd: ROOT, env });
    await tmux.waitFor(/FAILED · 1\.1/, 20_000, 'the failure prompt');
    const screen = await tmux.waitFor(/TAR: NO SPACE LEFT/, 5000, 'the output from before the pause');
    // What it printed, not only the command (which names neither /usr nor the upper-case error).
    expect(screen).toMatch(/restoring \/usr/);
    expect(screen).toMatch(/restoring \/var/);
    expect(screen).toMatch(/TAR: NO SPACE LEFT/);
    tmux.keys('p');
    expect(await tmux.waitForExit(10_000)).toBe(4);
    // The way to go on, as it can be typed here (the repository's Node and bin script): joined where the terminal wrapped it.
    expect(tmux.transcript().replace(/\n(?!nightshift:)/g, '')).toContain(`to go on: ${process.execPath} ${BIN} resume `);
  });

  it('counts every line a long output printed, though only its end is read back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-resume-tui-'));
    const runbook = path.join(dir, 'long.yaml');
    writeFileSync(runbook, "name: long output\nphases:\n  - name: print\n    steps:\n      - local: 'seq 1 250000; exit 2'\n        id: print\n");
    const env = { NIGHTSHIFT_STATE_DIR: freshStateDir() };
    const first = converse(['run', '--plain', runbook], (line) => (/Answer retry/.test(line) ? 'pause' : undefined), env);
    expect(await first.exited).toBe(4);

    tmux = TmuxSession.start([process.execPath, BIN, 'resume'], { cwd: ROOT, env });
    const screen = await tmux.waitFor(/│250000\s/, 20_000, 'the last line from before the pause');
    expect(screen).toContain('250,000 lines');
    tmux.keys('p');
    expect(await tmux.waitForExit(10_000)).toBe(4);
  });

  it('p while a local step runs pauses, and says the step was stopped and what resume will ask', async () => {
    const term = runs.start(
      "name: slow count\nphases:\n  - name: count\n    steps:\n      - local: 'for i in 1 2 3 4 5 6 7 8 9; do echo tick $i; sleep 1; done'\n        title: count slowly\n",
      { cols: 120, rows: 30 },
    );
    await term.waitFor(/tick 2/, 20_000, 'the step under way');
    term.keys('p');
    expect(await term.waitForExit(10_000)).toBe(4);
    const said = term.transcript().replace(/\n(?!nightshift:)/g, '');
    expect(said).toMatch(
      /nightshift: the run is paused; session record: .*\nnightshift: 1\.1 count slowly was stopped \(TERM to what it started\); resume asks whether it had finished\nnightshift: to go on: .+ resume /,
    );
  });
});
