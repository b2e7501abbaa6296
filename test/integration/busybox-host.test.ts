// A BusyBox host as Debian's busybox package makes one: /bin/sh and the login shell are
// BusyBox ash, and the PATH holds BusyBox applets only, so there is no nohup, no GNU tail and
// no util-linux. All in the real sshd's own mount namespace; this machine is not changed.
// revert_after must arm, be confirmed, and fire there; a detached step must run there.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HostPool } from '../../src/remote/host-pool.js';
import { parseRunbook } from '../../src/runbook/load.js';
import type { GuardStep, RunStep } from '../../src/runbook/types.js';
import { StepOutput } from '../../src/output/step-output.js';
import { GuardKeeper, runGuardStep } from '../../src/runner/guard.js';
import { makeHome, poolFor, removeHome, run } from '../support/ssh-pool.js';
import { runStepWithRevert } from '../support/revert-step.js';
import { describeWithSshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { sleep, waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

const BUSYBOX = '/bin/busybox';
const scratch = mkdtempSync(path.join(tmpdir(), 'ns-busybox-'));
const applets = path.join(scratch, 'bin');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const id = () => randomBytes(4).toString('hex');

describeWithSshd('a BusyBox host without nohup', () => {
  beforeAll(() => {
    mkdirSync(applets);
    for (const applet of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      symlinkSync(BUSYBOX, path.join(applets, applet));
    }
  });
  const host = withSshd({ loginShell: path.join(applets, 'ash'), binSh: BUSYBOX, env: { PATH: applets }, home: {} });
  let relay: TcpRelay;
  let home: string;
  let pool: HostPool;
  let breakLogins = false;

  beforeAll(async () => {
    relay = await TcpRelay.start(host.sshd.port);
    relay.refuseNewWhile(() => breakLogins);
    home = makeHome();
    pool = poolFor(host.sshd, { home, spec: { port: relay.port } });
  });
  afterAll(async () => {
    await pool?.close();
    await relay?.close();
    removeHome(home);
  });

  it('is that host: BusyBox ash everywhere, and no nohup, setsid from BusyBox', async () => {
    const probe = await run(pool, 'echo "$PATH"; /bin/sh --help 2>&1 | head -n 1; command -v nohup || echo no-nohup; readlink -f "$(command -v setsid)"');
    expect(probe.stdout.split('\n')).toEqual([applets, expect.stringMatching(/^BusyBox v/), 'no-nohup', realpathSync(BUSYBOX), '']);
  });

  async function withRevert(change: string, revert: string, after: string, onChanged?: () => void) {
    const runbook = parseRunbook(
      `name: t\nhosts:\n  dragon: {}\nphases:\n  - name: one\n    steps:\n      - run: ${JSON.stringify(change)}\n        host: dragon\n        revert_after: ${after}\n        revert: ${JSON.stringify(revert)}\n`,
      'rb.yaml',
    );
    const step = runbook.phases[0]!.steps[0] as RunStep;
    return runStepWithRevert(pool, step, {
      logFile: path.join(scratch, `out-${id()}.log`),
      sessionId: `bb-${id()}`,
      sites: runbook.sites,
      ...(onChanged ? { onChanged } : {}),
    });
  }

  it('arms a revert, and a confirmation from a new connection keeps it from ever running', async () => {
    const marker = path.join(host.sshd.homeDir, `reverted-${id()}`);
    const outcome = await withRevert('echo changed', `touch ${marker}`, '3s');
    expect(outcome, outcome.text).toMatchObject({ result: { exitCode: 0 }, events: ['revert.armed', 'revert.disarmed'] });
    expect(outcome.text).toMatch(/revert armed on dragon with a sleeper \(pid \d+\)/);
    await sleep(4000);
    expect(existsSync(marker)).toBe(false);
  });

  it('fires the revert when no new connection gets through, and reads what it did', async () => {
    const marker = path.join(host.sshd.homeDir, `reverted-${id()}`);
    breakLogins = false;
    const outcome = await withRevert('echo changed', `echo undone; touch ${marker}`, '3s', () => {
      breakLogins = true;
      setTimeout(() => (breakLogins = false), 4500);
    });
    breakLogins = false;
    expect(outcome.events).toEqual(['revert.armed', 'revert.unconfirmed', 'revert.fired']);
    expect(outcome).toMatchObject({
      error: expect.stringMatching(
        /^the change on dragon was reverted by the timer armed before it: .* The revert ran at .* and exited 0; dragon answers again$/,
      ),
    });
    expect(outcome.text).toMatch(/revert\| undone/);
    expect(existsSync(marker)).toBe(true);
  }, 40_000);

  it('runs a detached step, followed without GNU tail', async () => {
    const stdout: Buffer[] = [];
    const result = await pool.runDetached('dragon', 'for i in 1 2 3; do echo "line $i"; sleep 0.2; done; exit 5', {
      runId: `bb-${id()}/step.1`,
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: () => {},
    });
    expect({ result, stdout: Buffer.concat(stdout).toString() }).toEqual({ result: { exitCode: 5 }, stdout: 'line 1\nline 2\nline 3\n' });
  });

  it('a guard there: + swaps its sleeper for a later one (the first never fires), which then fires by itself; another fires at once', async () => {
    const marker = path.join(host.sshd.homeDir, `guard-${id()}`);
    const loaded = parseRunbook(
      `name: t\nhosts:\n  dragon: {}\nphases:\n  - name: swap\n    guard:\n      revert_after: 10s\n      revert:\n        dragon: ${JSON.stringify(`echo undone >> ${marker}`)}\n    steps:\n      - run: echo changed\n        host: dragon\n`,
      'rb.yaml',
    );
    const [arm, fire] = [loaded.phases[0]!.steps[0] as GuardStep, loaded.phases[0]!.fallback![0] as GuardStep];
    const guardOn = async (session: string) => {
      const keeper = new GuardKeeper(pool, session, () => {}, [arm.guard]);
      const output = new StepOutput(path.join(scratch, `guard-${id()}.log`));
      const context = { hosts: pool, keeper, output, sessionId: session, signal: new AbortController().signal, sites: loaded.sites };
      await runGuardStep(arm, context);
      return { keeper, context, output };
    };
    const later = await guardOn(`bb-guard-${id()}`);
    const armedAt = Date.now();
    expect(await later.keeper.extend(6000)).toMatch(/^the guard's deadline moved 6(\.0)?s later on every host$/);
    await sleep(Math.max(0, armedAt + 12_500 - Date.now()));
    expect(existsSync(marker)).toBe(false);
    await waitFor(() => existsSync(marker), { timeoutMs: 10_000, what: 'the later sleeper to fire' });
    expect(Date.now() - armedAt).toBeGreaterThan(15_000);

    const now = await guardOn(`bb-guard-${id()}`);
    await runGuardStep(fire, now.context);
    await now.output.close();
    expect(
      now.output.ring
        .tail(20)
        .map((line) => line.text)
        .join('\n'),
    ).toMatch(/nightshift: dragon: the revert ran at .* and exited 0/);
    expect(readFileSync(marker, 'utf8')).toBe('undone\nundone\n');
  }, 60_000);
});
