// A newcomer's rehearsal: nightshift lab up, then nightshift run --lab in a real terminal,
// driven by keys as far as the first destructive step, where they pause.
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { labPerTest } from '../support/lab.js';
import { TmuxSession } from '../support/tmux.js';

describe('rehearsing by hand on the lab', () => {
  const startLab = labPerTest();
  let tmux: TmuxSession | undefined;
  // After-hooks run last-registered first: the terminal goes before the lab.
  afterEach(() => tmux?.kill());

  it(
    'runs the jump runbook full-screen against the lab machine until the first destructive step, and pauses there',
    async () => {
      // A lab of its own name: jump-via-swap.test.ts may have the runbook's own lab up meanwhile.
      const lab = await startLab('jump-via-swap.yaml', 'jump-by-hand');
      const env: Record<string, string> = { NIGHTSHIFT_STATE_DIR: freshStateDir() };
      tmux = TmuxSession.start([process.execPath, BIN, 'run', lab.runbook, '--lab', '--no-helpers'], { cwd: ROOT, env, cols: 140, rows: 45 });
      const screen = await tmux.waitFor(/DESTRUCTIVE/, 120_000, 'the first destructive step');
      // What ran on the lab machine, and what is asked now.
      expect(screen).toMatch(/✓.*The tarballs are whole/);
      expect(screen).toMatch(/✓.*node7 can do without its swap/);
      expect(screen).toMatch(/✓ 1\.3 Remember the swap partition/);
      expect(screen).toMatch(/Type "\/dev\/vda2" and press Enter to run it/);
      expect(screen).toMatch(/node7/);
      tmux.keys('C-p');
      expect(await tmux.waitForExit(30_000)).toBe(4);
      // The swap really went offline on the machine, and the machine is still there.
      expect(await lab.ssh('node7', 'swapon --show --noheadings | wc -l; hostname')).toBe('0\nnode7');
      // As root on a systemd machine, the run step went into a transient unit of its own
      // (systemd-run), not a setsid child of the login.
      const units = await lab.ssh('node7', "journalctl -b --no-pager -q -o cat | grep -o 'nightshift-[^ ]*-prepare-3\\.1\\.service' | sort -u");
      expect(units).toMatch(/^nightshift-[0-9]{8}-[0-9]{6}-[a-z0-9]+-prepare-3\.1\.service$/);
    },
    10 * 60_000,
  );
});
