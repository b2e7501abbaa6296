// Paused in the full-screen view while a detached step runs on its host, resumed later: the
// view shows what the step printed while nobody watched, in order, after what came before.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { freshStateDir } from '../support/cli.js';
import { describeWithSshd } from '../support/sshd.js';
import { sshdTuiRuns } from '../support/sshd-tui-runs.js';
import { tmuxAvailable } from '../support/tmux.js';
import { waitForValue } from '../support/wait-for.js';

describeWithSshd('resuming a detached step in the full-screen view', () => {
  const runs = sshdTuiRuns('ns-resume-detached-', 'dolphin', (dir) => ({
    'restore.yaml': `name: restore overnight
hosts:
  dolphin: {}
phases:
  - name: restore
    steps:
      - title: Unpack slowly
        run: for i in 1 2 3 4 5 6 7 8; do echo "unpacked part $i"; sleep 0.4; done; touch ${dir}/unpacked
        host: dolphin
      - checkpoint: The parts are all there.
`,
  }));
  const dir = runs.dir;

  it.skipIf(!tmuxAvailable())(
    'p pauses while the step runs on; resume shows the lines it printed meanwhile and goes on',
    async () => {
      const stateDir = freshStateDir();
      const start = (args: string[]) => runs.start(args, { stateDir, cols: 120, rows: 30 });
      let tmux = start(['run', path.join(dir, 'restore.yaml')]);
      await tmux.waitFor(/unpacked part 2/, 20_000, 'the step under way');
      tmux.keys('p');
      expect(await tmux.waitForExit(10_000)).toBe(4);
      const said = tmux.transcript().replace(/\n(?!nightshift:)/g, '');
      expect(said).toMatch(/1\.1 Unpack slowly goes on on dolphin; resume follows it again/);
      tmux.kill();

      // The step ends on its host while nightshift is away.
      await waitForValue(() => existsSync(path.join(dir, 'unpacked')) || undefined, { what: 'the step done on its host', timeoutMs: 15_000 });
      tmux = start(['resume']);
      const screen = await tmux.waitFor(/CHECKPOINT · 1\.2/, 20_000, 'the checkpoint after the resumed step');
      // Every line, once and in order, those printed while paused included.
      const rows = screen.split('\n');
      const at = (part: number) => rows.findIndex((row) => row.includes(`unpacked part ${part}`));
      const order = [1, 2, 3, 4, 5, 6, 7, 8].map(at);
      expect(
        order.every((row, index) => row >= 0 && (index === 0 || row > order[index - 1]!)),
        screen,
      ).toBe(true);
      expect(screen.match(/unpacked part 8/g)).toHaveLength(1);
      expect(screen).toMatch(/✓ 1\.1 Unpack slowly/);
      tmux.keys('y');
      await tmux.waitFor(/The run completed/, 15_000, 'the end');
      tmux.keys('q');
      expect(await tmux.waitForExit(10_000)).toBe(0);
    },
    90_000,
  );
});
