// A rollout over 22 hosts (ssh aliases to one test sshd) in plain mode: every line about a
// host starts with [host], batches and hosts get their own lines, the failure is asked about
// by host, and skipping it lets the rollout go on to the end.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { clientFlags, converse, freshStateDir, waitForLine } from '../support/cli.js';
import { fleetHostNames, writeFleetRun } from '../support/fleet-hosts.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

const HOSTS = fleetHostNames(22);

describeWithSshd('a rollout in plain mode', () => {
  let sshd: Sshd;
  let dir: string;

  beforeAll(async () => {
    sshd = await Sshd.start({ extraConfig: ['MaxStartups 100:30:200', 'MaxSessions 100'] });
    dir = mkdtempSync(path.join(tmpdir(), 'ns-fleet-plain-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prefixes every line of a host, asks about the failed host by name, and skips it', async () => {
    const go = path.join(dir, 'go');
    const runbook = writeFleetRun(sshd, dir, HOSTS, 'vm07', { serial: 11, maxFail: 1, go });
    const stateDir = freshStateDir();
    let asked = 0;
    const run = converse(
      ['run', runbook, '--plain', '--no-helpers', ...clientFlags(dir)],
      (line) => {
        if (!line.includes('Answer ')) return undefined;
        asked += 1;
        if (asked === 1) return 'skip';
        if (asked === 2) {
          // Refused without a reason; now with one, and the others may end.
          setTimeout(() => writeFileSync(go, ''), 500);
          return 'skip disk full, look at it tomorrow';
        }
        return 'pause';
      },
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    try {
      await waitForLine(run, /rollout of update|run completed|paused/, 90_000);
      const code = await run.exited;
      const text = run.lines.join('\n');
      expect(code, text + run.stderr()).toBe(0);
      expect(text).toMatch(/batch 1\/2 of update started: vm01 vm02 .* vm11$/m);
      expect(text).toMatch(/batch 2\/2 of update started: vm12 .* vm22$/m);
      expect(text).toMatch(/\[vm07\] > 1\.1@vm07 update the packages \[.*\] on vm07/);
      expect(text).toMatch(/^\[vm07\] E: dpkg was interrupted on vm07$/m);
      expect(text).toMatch(/^\[vm01\] updating vm01$/m);
      expect(text).toMatch(/^\[vm22\] vm22 is up to date$/m);
      expect(text).toMatch(/\[vm07\] FAILED 1\.1@vm07 update the packages after .*: exited with status 3/);
      // The question names the host and offers the rollout's answers.
      expect(text).toMatch(/\? \[vm07\] 1\.1@vm07 update the packages failed on vm07: exited with status 3/);
      // No pause while the other hosts' steps are at work.
      expect(text).toContain('Answer retry | skip REASON | fallback REASON | stop-rollout REASON | fallback-all REASON:');
      expect(text).toContain('skipping a host needs a reason (answer skip REASON)');
      expect(text).toMatch(/\[vm07\] decision on 1\.1@vm07 update the packages by .*: skip-host \(disk full, look at it tomorrow\)/);
      expect(text).toMatch(/\[vm07\] vm07 skipped: .*disk full, look at it tomorrow/);
      expect(text).toMatch(/batch 1\/2 of update finished: 10 done, 1 failed: vm07/);
      expect(text).toMatch(/batch 2\/2 of update finished: 11 done$/m);
      expect(text).toMatch(/run completed$/m);
      // Every line of a step of the rollout starts with its host.
      for (const line of run.lines.filter((each) => /@vm\d\d/.test(each) && !each.startsWith('?') && !each.startsWith('  '))) {
        expect(line, line).toMatch(/^(\[\d\d:\d\d:\d\d\] )?\[vm\d\d\] /);
      }
      const sessions = path.join(stateDir, 'sessions');
      const entries = readJournal(path.join(sessions, readdirSync(sessions)[0]!, 'journal.jsonl'));
      const finished = entries.filter((entry) => entry.type === 'host.finished');
      expect(finished).toHaveLength(22);
      expect(finished.find((entry) => entry['host'] === 'vm07')).toMatchObject({ outcome: 'skipped' });
      // One login per host, the check's, which the run went on with and its journal tells.
      for (const host of HOSTS) {
        const states = entries.filter((entry) => entry.type === 'host.state' && entry['host'] === host);
        expect(
          states.map((entry) => entry['state']),
          host,
        ).toEqual(['connected', 'closed']);
        expect(states[0], host).toMatchObject({ loggedInBy: 'check' });
      }
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 180_000);
});
