// A guard in the full-screen view, against the test sshd: its countdown stays on screen while
// the block runs, + moves the deadline on the host (journaled), and the commit ends it.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { freshStateDir } from '../support/cli.js';
import { describeWithSshd } from '../support/sshd.js';
import { sshdTuiRuns } from '../support/sshd-tui-runs.js';
import { tmuxAvailable } from '../support/tmux.js';

describeWithSshd('a guard on screen', () => {
  const runs = sshdTuiRuns('ns-guard-tui-', 'dolphin', (dir) => ({
    'swap.yaml': `name: guarded swap
hosts:
  dolphin: {}
phases:
  - name: swap
    guard:
      revert_after: 2m
      revert:
        dolphin: echo old > ${dir}/state
    steps:
      - run: echo new > ${dir}/state
        host: dolphin
      - checkpoint: The modem cable is in the new dragon.
`,
  }));

  it.skipIf(!tmuxAvailable())(
    'counts down to the deadline, moves it 5 minutes later with +, and is gone once committed',
    async () => {
      const stateDir = freshStateDir();
      const tmux = runs.start(['run', path.join(runs.dir, 'swap.yaml')], { stateDir, cols: 100, rows: 30 });
      const before = await tmux.waitFor(/CHECKPOINT · 1\.2/, 20_000, 'the checkpoint inside the block');
      expect(before).toMatch(/⏲ guard swap: dolphin revert by themselves in (2m|1m ?5\ds) unless it is committed · \+ adds 5m/);
      tmux.type('+');
      await tmux.waitFor(/the guard's deadline moved 5m later on every host/, 15_000, 'the answer to +');
      await tmux.waitFor(/⏲ guard swap: dolphin revert by themselves in (7m|6m ?5\ds)/, 5000, 'the new countdown');
      const journal = readFileSync(path.join(stateDir, 'sessions', readdirSync(path.join(stateDir, 'sessions'))[0]!, 'journal.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; deadline?: number });
      const armed = journal.find((entry) => entry.type === 'guard.armed')!;
      const extended = journal.find((entry) => entry.type === 'guard.extended')!;
      // The host's new deadline, 300 s after the one armed (within the clocks' seconds).
      expect(Math.abs(extended.deadline! - armed.deadline! - 300_000)).toBeLessThan(2500);
      tmux.keys('y');
      await tmux.waitFor(/The run completed/, 20_000, 'the end');
      expect(tmux.screen()).not.toMatch(/⏲ guard/);
      expect(readFileSync(path.join(runs.dir, 'state'), 'utf8')).toBe('new\n');
      tmux.keys('q');
      expect(await tmux.waitForExit(10_000)).toBe(0);
    },
    90_000,
  );
});
