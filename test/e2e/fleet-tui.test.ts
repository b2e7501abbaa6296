// A rollout over 22 hosts (ssh aliases to one test sshd) in the full-screen view: the host
// grid shows beside the runbook panel, selecting a host shows its output, the failure prompt
// names the failed host, and skipping it lets the rollout go on to the end.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { BIN, clientFlags, freshStateDir, ROOT } from '../support/cli.js';
import { fleetHostNames, writeFleetRun } from '../support/fleet-hosts.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

const HOSTS = fleetHostNames(22);

describeWithSshd('a rollout in the full-screen view', () => {
  let sshd: Sshd;
  let dir: string;
  let tmux: TmuxSession | undefined;

  beforeAll(async () => {
    // 22 logins at once: more than sshd's default MaxStartups lets through unauthenticated.
    sshd = await Sshd.start({ extraConfig: ['MaxStartups 100:30:200', 'MaxSessions 100'] });
    dir = mkdtempSync(path.join(tmpdir(), 'ns-fleet-tui-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => tmux?.kill());

  it.skipIf(!tmuxAvailable())(
    'shows the grid, a selected host’s output, a failure prompt naming the host, and skips it',
    async () => {
      const go = path.join(dir, 'go');
      const runbook = writeFleetRun(sshd, dir, HOSTS, 'vm07', { serial: 11, maxFail: 1, go });
      tmux = TmuxSession.start([process.execPath, BIN, 'run', runbook, ...clientFlags(dir), '--no-helpers'], {
        cwd: ROOT,
        env: { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
        cols: 140,
        rows: 45,
      });
      const term = tmux;

      // The failed host is asked about by name while the others of its batch still run.
      let screen = await term.waitFor(/FAILED on vm07/, 60_000, 'the failure prompt for vm07');
      expect(screen).toMatch(/FAILED on vm07 · 1\.1@vm07 update the packages: /);
      expect(screen).toMatch(/r retry on vm07 · s skip vm07 · f fall back vm07 · x stop the rollout · F fall back all/);
      // The grid: the heading with the batch, the counts, a line per batch, the failed host first.
      expect(screen).toMatch(/│update · 22 hosts · batch 1\/2/);
      expect(screen).toMatch(/batch 1\/2: .*1 waiting/);
      expect(screen).toMatch(/batch 2\/2: 11 queued · pending/);
      const lines = screen.split('\n');
      const firstHostLine = lines.findIndex((line) => /[!▶·✓] vm\d\d /.test(line));
      expect(lines[firstHostLine]).toMatch(/! vm07 .*1\.1 FAILED/);
      // Beside the runbook panel, whose rollout step shows once for all hosts.
      expect(screen).toMatch(/│1 update · each of 22 hosts/);
      expect(screen).toMatch(/✗ 1\.1 update the packages +0\/22/);
      // A halt checkpoint shows only once the rollout comes to it.
      expect(screen).not.toMatch(/1\.halt1/);

      // At 80x24 the grid still says where the rollout stands, and the prompt names the host.
      term.resize(80, 24);
      screen = await term.waitFor(
        (s) => s.split('\n').length >= 24 && /FAILED on vm07/.test(s) && /22 hosts · batch 1\/2/.test(s),
        10_000,
        'the view at 80x24',
      );
      expect(screen).toMatch(/!1 waiting ▶10 running ·11 queued/);
      expect(screen).toMatch(/! vm07 .*1\.1 FAILED/);
      for (const line of screen.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
      term.resize(140, 45);
      await term.waitFor(/batch 2\/2: 11 queued · pending/, 10_000, 'the view at 140x45 again');

      // Selecting a host shows its steps and its own output.
      term.keys('Right');
      screen = await term.waitFor(/vm07 · 1\.1@vm07 update the packages/, 10_000, 'the output of the first host selected');
      expect(screen).toMatch(/E: dpkg was interrupted on vm07/);
      term.keys('Right');
      screen = await term.waitFor((s) => /vm01 · 1\.1@vm01 update the packages/.test(s) && /│updating vm01\s/.test(s), 10_000, 'the output of vm01');
      // Its steps under it, and the failed host still on its own line.
      expect(screen).toMatch(/▸▶ vm01 .*\n.*▶ 1\.1 update the packages/);
      expect(screen).toMatch(/! vm07 .*1\.1 FAILED/);
      expect(screen).toMatch(/▸▶ vm01 /);

      // The keys that select a host are in the help list.
      term.keys('?');
      await term.waitFor(/← →\s+a rollout: select the previous or next host/, 10_000, 'the help list');
      term.keys('?');
      await term.waitFor(/▸▶ vm01 /, 10_000, 'the grid again');

      // Skip the failed host with a reason.
      term.keys('s');
      await term.waitFor(/Why skip vm07\?/, 10_000);
      term.type('disk full, look at it tomorrow');
      term.keys('Enter');
      screen = await term.waitFor(/↷ vm07 .*skipped: .*disk full, look at it tomorrow/, 10_000, 'vm07 skipped in the grid');

      // The others finish, the second batch runs (one failure is within max_fail 1), the run completes.
      writeFileSync(go, '');
      screen = await term.waitFor(/The run completed/, 90_000, 'the end of the rollout');
      expect(screen).toMatch(/↷1 skipped .*✓21 done/);
      term.keys('q');
      expect(await term.waitForExit()).toBe(0);
    },
    180_000,
  );
});
