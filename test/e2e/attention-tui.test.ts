// The bell and the title in a real terminal: a step fails at 3 AM and the terminal rings and
// says so in its title; with the bell preference off, only the title does.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../support/cli.js';
import { bellsIn, tmuxAvailable } from '../support/tmux.js';
import { tuiRuns } from '../support/tui-run.js';

describe.skipIf(!tmuxAvailable())('a prompt that starts waiting for the upgrader', () => {
  const runs = tuiRuns('ns-attention-');
  const dir = runs.dir;

  async function failedRun(config: string) {
    const term = runs.start("name: fails later\nphases:\n  - name: one\n    steps:\n      - local: 'sleep 2; echo disk full >&2; exit 2'\n", {
      cols: 100,
      rows: 30,
      env: { NIGHTSHIFT_CONFIG_DIR: config },
    });
    const recording = await term.recordOutput();
    await term.waitFor(/1\.1/, 10_000, 'the step running');
    await term.waitFor(() => term.title() === 'nightshift', 5000, 'the title while the step runs');
    await term.waitFor(/FAILED · 1\.1/, 20_000, 'the failure prompt');
    await term.waitFor(() => term.title() === 'nightshift: waiting for you', 5000, 'the title saying something waits');
    term.keys('p');
    expect(await term.waitForExit(10_000)).toBe(4);
    await recording.stop();
    return Buffer.concat(recording.chunks.map((chunk) => chunk.data)).toString('utf8');
  }

  it('rings the bell once and titles the window', async () => {
    const written = await failedRun(mkdtempSync(path.join(dir, 'config-')));
    expect(bellsIn(written)).toBe(1);
    expect(written).toContain('\u001b]2;nightshift: waiting for you\u0007');
  }, 60_000);

  it('with prefs set bell off, titles the window without a bell', async () => {
    const config = mkdtempSync(path.join(dir, 'config-'));
    const set = spawnSync(process.execPath, [BIN, 'prefs', 'set', 'bell', 'off'], {
      cwd: ROOT,
      env: { ...process.env, NIGHTSHIFT_CONFIG_DIR: config },
      encoding: 'utf8',
    });
    expect(set.stdout).toMatch(/^bell +off$/m);
    const written = await failedRun(config);
    expect(bellsIn(written)).toBe(0);
    expect(written).toContain('\u001b]2;nightshift: waiting for you\u0007');
  }, 60_000);
});
