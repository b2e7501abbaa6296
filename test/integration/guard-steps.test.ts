// A guard's steps against OpenSSH's sshd, one at a time (runner/guard.ts): a commit that finds
// a host reverted by itself leaves the others armed rather than half committed, and a firing
// after a commit takes the committed revert back and runs it.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { StepOutput } from '../../src/output/step-output.js';
import { parseRunbook } from '../../src/runbook/load.js';
import type { GuardStep } from '../../src/runbook/types.js';
import { GuardKeeper, type GuardEvent, runGuardStep } from '../../src/runner/guard.js';
import { scratchFolders } from '../support/scratch-folder.js';
import { describeWithSshd } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

const scratch = scratchFolders();

describeWithSshd('the steps of a guard, one at a time', () => {
  const host = withSshd({}, { pool: true });
  const dir = scratch('ns-guard-steps-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A guard over one phase with two names for the test sshd (two machines for the guard), each revert appending to its file. */
  function guarded(after: string) {
    const loaded = parseRunbook(
      `name: t\nhosts:\n  dragon: {}\nphases:\n  - name: swap\n    guard:\n      revert_after: ${after}\n      revert:\n        dragon: echo reverted >> ${dir}/dragon-${after}\n    steps:\n      - run: echo changed\n        host: dragon\n`,
      'rb.yaml',
    );
    const phase = loaded.phases[0]!;
    const [arm, commit, fire] = [phase.steps[0], phase.steps.at(-1), phase.fallback![0]] as GuardStep[];
    const events: GuardEvent[] = [];
    const session = `guard-steps-${after}-${process.pid}`;
    const keeper = new GuardKeeper(host.pool, session, (event) => events.push(event), [arm!.guard]);
    const output = new StepOutput(path.join(dir, `${session}.log`));
    const context = { hosts: host.pool, keeper, output, sessionId: session, signal: new AbortController().signal, sites: loaded.sites, graceMs: 20_000 };
    const text = () =>
      output.ring
        .tail(50)
        .map((line) => line.text)
        .join('\n');
    return { arm: arm!, commit: commit!, fire: fire!, keeper, context, events, text, marker: path.join(dir, `dragon-${after}`) };
  }

  it('a commit that finds the host reverted by itself fails, and the firing after it reads what the host did', async () => {
    const guard = guarded('10s');
    await runGuardStep(guard.arm, guard.context);
    await waitFor(() => existsSync(guard.marker), { timeoutMs: 20_000, what: 'the revert at its deadline' });
    await expect(runGuardStep(guard.commit, guard.context)).rejects.toThrow(
      /^the guard cannot be committed: dragon reverted by itself: its deadline passed\. Falling back fires it on the hosts still armed$/,
    );
    await runGuardStep(guard.fire, guard.context);
    expect(guard.text()).toMatch(/nightshift: dragon: the revert ran at .* by itself, at its deadline and exited 0/);
    // Once: the firing found it had run and did not run it again.
    expect(readFileSync(guard.marker, 'utf8')).toBe('reverted\n');
    // The commit read the firing; the journal tells it once.
    expect(guard.events.map((event) => event.type)).toEqual(['guard.armed', 'guard.fired']);
  }, 60_000);

  it('a firing after a commit takes the committed revert back and runs it', async () => {
    const guard = guarded('1m');
    await runGuardStep(guard.arm, guard.context);
    await runGuardStep(guard.commit, guard.context);
    expect(guard.keeper.active()).toBeNull();
    expect(existsSync(guard.marker)).toBe(false);
    await runGuardStep(guard.fire, guard.context);
    expect(readFileSync(guard.marker, 'utf8')).toBe('reverted\n');
    expect(guard.events.map((event) => `${event.type}${'by' in event ? ` by ${event.by}` : ''}`)).toEqual([
      'guard.armed',
      'guard.committed',
      'guard.fired by nightshift',
    ]);
  }, 60_000);
});
