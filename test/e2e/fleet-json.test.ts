// A rollout with a canary in --json mode, over 6 hosts (ssh aliases to one test sshd): every
// line about a host of the rollout names it, the canary goes alone until its checkpoint is
// confirmed, and the failed host is asked about by name, as a program would read it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientFlags, converse, freshStateDir } from '../support/cli.js';
import { fleetHostNames, writeFleetRun } from '../support/fleet-hosts.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

const HOSTS = fleetHostNames(6);

type StreamLine = { type: string; [field: string]: unknown };

describeWithSshd('a rollout in --json mode', () => {
  let sshd: Sshd;
  let dir: string;

  beforeAll(async () => {
    sshd = await Sshd.start({ extraConfig: ['MaxStartups 100:30:200', 'MaxSessions 100'] });
    dir = mkdtempSync(path.join(tmpdir(), 'ns-fleet-json-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the host on every line about it; the canary goes alone until its checkpoint; the failed host is asked about by name', async () => {
    const go = path.join(dir, 'go');
    writeFileSync(go, '');
    const runbook = writeFleetRun(sshd, dir, HOSTS, 'vm04', { serial: 3, maxFail: 1, go, canary: 1 });
    const seen: StreamLine[] = [];
    const run = converse(
      ['run', runbook, '--json', '--no-helpers', ...clientFlags(dir)],
      (line) => {
        const event = JSON.parse(line) as StreamLine;
        seen.push(event);
        if (event.type !== 'prompt') return undefined;
        if (event['for'] === 'host-decision') return `skip ${String(event['host'])} has no space left`;
        return /Type yes to continue the rollout/.test(String(event['text'])) ? 'yes' : 'pause';
      },
      { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
    );
    try {
      expect(await run.exited, `${run.lines.join('\n')}\n${run.stderr()}`).toBe(0);
      const events = run.lines.map((line) => JSON.parse(line) as StreamLine);
      expect(events.every((event) => event['v'] === 1)).toBe(true);

      // The canary batch is vm01 alone, and its checkpoint is asked before any other host starts.
      const batches = events.filter((event) => event.type === 'batch.started');
      expect(batches.map((event) => [event['batch'], event['canary'] === true, event['hosts']])).toEqual([
        [1, true, ['vm01']],
        [2, false, ['vm02', 'vm03', 'vm04']],
        [3, false, ['vm05', 'vm06']],
      ]);
      const canaryAsked = events.findIndex((event) => event.type === 'prompt' && /canary batch of phase update is done/.test(String(event['text'])));
      expect(canaryAsked).toBeGreaterThan(-1);
      const startedHosts = (upTo: number) =>
        events
          .slice(0, upTo)
          .filter((event) => event.type === 'host.started')
          .map((event) => event['host']);
      expect(startedHosts(canaryAsked)).toEqual(['vm01']);

      // The failure is a prompt about vm04 by name, and the answer skipped that host alone.
      const decision = events.find((event) => event.type === 'prompt' && event['for'] === 'host-decision');
      expect(decision).toMatchObject({ host: 'vm04', stepId: 'update-1@vm04', error: 'exited with status 3' });
      const finished = Object.fromEntries(events.filter((event) => event.type === 'host.finished').map((event) => [event['host'], event['outcome']]));
      expect(finished).toEqual({ vm01: 'done', vm02: 'done', vm03: 'done', vm04: 'skipped', vm05: 'done', vm06: 'done' });
      expect(events.find((event) => event.type === 'run.finished')).toMatchObject({ outcome: 'completed' });

      // Every output line and every entry about a step of the rollout says which host it is about.
      const output = events.filter((event) => event.type === 'output');
      expect(output.find((event) => event['line'] === 'E: dpkg was interrupted on vm04')).toMatchObject({ host: 'vm04', stream: 'stderr' });
      for (const host of HOSTS) expect(output.filter((event) => event['host'] === host).length, host).toBeGreaterThan(0);
      const aboutSteps = events.filter((event) => typeof event['stepId'] === 'string' && /@vm\d\d$/.test(event['stepId'] as string));
      expect(aboutSteps.length).toBeGreaterThan(HOSTS.length * 2);
      for (const event of aboutSteps) expect(event['host'], JSON.stringify(event)).toBe((event['stepId'] as string).split('@')[1]);
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 120_000);
});
