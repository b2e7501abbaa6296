// A host whose home is full, or read-only: the real sshd logs the test user in with a small
// tmpfs or a read-only folder as home, mounted in sshd's own mount namespace (with a private
// /var/tmp), so nothing on this machine changes. Detached steps and reverts go to a run
// folder that works and say why the usual one was passed over; output the host can no
// longer write is said to be cut, with the reason, and the exit status still arrives.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { StepOutput } from '../../src/output/step-output.js';
import type { HostPool } from '../../src/remote/host-pool.js';
import { parseRunbook } from '../../src/runbook/load.js';
import type { RunStep } from '../../src/runbook/types.js';
import { runWithRevert } from '../../src/runner/revert.js';
import { poolFor } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { withSshd } from '../support/with-sshd.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'ns-disk-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const uid = process.getuid?.() ?? 0;
const id = () => randomBytes(4).toString('hex');

async function detached(pool: HostPool, command: string) {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const notices: string[] = [];
  const runId = `disk-${id()}/step.1`;
  const result = await pool.runDetached('dragon', command, {
    runId,
    onStdout: (chunk) => stdout.push(chunk),
    onStderr: (chunk) => stderr.push(chunk),
    onNotice: (text) => notices.push(text),
  });
  return { result, runId, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), notices };
}

/** A revert_after step run as the runner does; returns the result, the journal events and the step's lines. */
async function withRevert(pool: HostPool, change: string, revert: string) {
  const runbook = parseRunbook(
    `name: t\nhosts:\n  dragon: {}\nphases:\n  - name: one\n    steps:\n      - run: ${JSON.stringify(change)}\n        host: dragon\n        revert_after: 30s\n        revert: ${JSON.stringify(revert)}\n`,
    'rb.yaml',
  );
  const step = runbook.phases[0]!.steps[0] as RunStep;
  const output = new StepOutput(path.join(scratch, `out-${id()}.log`));
  const events: string[] = [];
  const sessionId = `disk-${id()}`;
  const started = Date.now();
  const outcome = await runWithRevert(
    { ...step, revert: step.revert! },
    { hosts: pool, output, sessionId, attempt: 1, signal: new AbortController().signal, sites: runbook.sites, onEvent: (event) => events.push(event.type) },
    () =>
      pool.runDetached('dragon', step.command, {
        runId: `${sessionId}/${step.id}.1`,
        onStdout: (chunk) => output.write(chunk),
        onStderr: (chunk) => output.write(chunk, true),
        onNotice: (text) => output.note(text),
      }),
  ).then(
    (result) => ({ result }),
    (error: Error) => ({ error: error.message }),
  );
  await output.close();
  return { ...outcome, events, ms: Date.now() - started, lines: output.ring.tail(100).map((line) => line.text) };
}

describeWithSshd('a host whose home is a full disk', () => {
  const host = withSshd({ home: { tmpfs: '1m' }, privateVarTmp: true }, { pool: true });

  /** Fills the home so that `free` bytes are left (0: full). */
  function fillHome(free: number) {
    host.sshd.inNamespace(
      `rm -f "${host.sshd.homeDir}/fill"; size=$(df -B1 --output=avail "${host.sshd.homeDir}" | tail -n 1); ` +
        `head -c $((size - ${free})) /dev/zero > "${host.sshd.homeDir}/fill" 2>/dev/null; true`,
    );
  }

  it('runs a detached step in /var/tmp instead, saying that the home had no space left', async () => {
    fillHome(0);
    const run = await detached(host.pool, 'echo "all of it"; echo "and this" >&2; exit 4');
    expect({ result: run.result, stdout: run.stdout, stderr: run.stderr }).toEqual({ result: { exitCode: 4 }, stdout: 'all of it\n', stderr: 'and this\n' });
    expect(run.notices).toEqual([
      expect.stringMatching(
        new RegExp(
          `^nightshift: the command runs in /var/tmp/nightshift-${uid}/runs/${run.runId} on dragon, since ${host.sshd.homeDir}/\\.local/state/nightshift: .*No space left on device`,
        ),
      ),
    ]);
    expect(host.sshd.inNamespace(`cat /var/tmp/nightshift-${uid}/runs/${run.runId}/out`)).toBe('all of it\n');
  });

  it('arms a revert in /var/tmp instead, the change is made and the revert disarmed', async () => {
    fillHome(0);
    const marker = `/var/tmp/reverted-${id()}`;
    const outcome = await withRevert(host.pool, 'echo changed', `touch ${marker}`);
    expect(outcome).toMatchObject({ result: { exitCode: 0 }, events: ['revert.armed', 'revert.disarmed'] });
    const text = outcome.lines.join('\n');
    expect(text).toMatch(
      new RegExp(`nightshift: the revert waits in /var/tmp/nightshift-${uid}/runs/disk-\\w+/[\\w.-]+\\.1\\.revert on dragon, since .*No space left on device`),
    );
    expect(text).toMatch(/revert armed on dragon with a sleeper \(pid \d+\)/);
    expect(text).toMatch(/the revert is disarmed and the change stays/);
  });

  it('says that output the home could no longer hold was cut, and why; the exit status still arrives', async () => {
    fillHome(64 * 1024);
    const run = await detached(host.pool, 'seq 1 200000; echo "on stderr"; exit 4');
    expect(run.result).toEqual({ exitCode: 4 });
    const lines = run.stdout.split('\n');
    // What was written is whole and in order, up to where the disk filled.
    expect(run.stdout.length).toBeGreaterThan(1000);
    expect(run.stdout.length).toBeLessThan(64 * 1024);
    expect(lines.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 1)));
    expect(run.notices).toContainEqual(
      `nightshift: dragon could not write the command's stdout after ${run.stdout.length} bytes (no space left on the device in ${host.sshd.homeDir}/.local/state/nightshift/runs/${run.runId}): what it printed after that is lost`,
    );
  });
});

describeWithSshd('a host whose home is read-only', () => {
  const host = withSshd({ home: { readOnly: true }, privateVarTmp: true }, { pool: true });

  it('runs a detached step in /var/tmp instead, saying that the home is read-only', async () => {
    const run = await detached(host.pool, 'echo out; echo err >&2; exit 2');
    expect({ result: run.result, stdout: run.stdout, stderr: run.stderr }).toEqual({ result: { exitCode: 2 }, stdout: 'out\n', stderr: 'err\n' });
    expect(run.notices).toEqual([
      expect.stringMatching(
        new RegExp(
          `^nightshift: the command runs in /var/tmp/nightshift-${uid}/runs/${run.runId} on dragon, since ${host.sshd.homeDir}/\\.local/state/nightshift: mkdir: .*Read-only file system`,
        ),
      ),
    ]);
  });

  it('arms a revert in /var/tmp instead, at once, and disarms it', async () => {
    const outcome = await withRevert(host.pool, 'echo changed', 'echo undone');
    expect(outcome).toMatchObject({ result: { exitCode: 0 }, events: ['revert.armed', 'revert.disarmed'] });
    expect(outcome.lines.join('\n')).toMatch(/the revert waits in \/var\/tmp\/nightshift-\d+\/runs\/.* on dragon, since .*Read-only file system/);
  });

  it('a hostile run_dir that cannot be used is passed over: named without its escape sequences, never run as shell', async () => {
    const marker = `/var/tmp/pwned-${id()}`;
    const runDir = `/proc/\u001b]0;owned\u0007\u001b[2J'$(touch ${marker})'`;
    const own = poolFor(host.sshd, { home: host.home, spec: { runDir } });
    try {
      const notices: string[] = [];
      const runId = `disk-${id()}/step.1`;
      const result = await own.runDetached('dragon', 'echo here', { runId, onStdout: () => {}, onStderr: () => {}, onNotice: (text) => notices.push(text) });
      expect(result).toEqual({ exitCode: 0 });
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(
        new RegExp(`^nightshift: the command runs in /var/tmp/nightshift-${uid}/runs/${runId} on dragon, since /proc/.*'\\$\\(touch ${marker}\\)'`),
      );
      expect(notices[0]).toMatch(/Read-only file system$/);
      // eslint-disable-next-line no-control-regex
      expect(notices[0]).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      expect(host.sshd.inNamespace(`[ -e ${marker} ] && echo made || echo absent`)).toBe('absent\n');
    } finally {
      await own.close();
    }
  });

  it('a run_dir in the runbook comes first, and the home is not tried when it works', async () => {
    const runDir = `/var/tmp/run dir's-${id()}`;
    const own = poolFor(host.sshd, { home: host.home, spec: { runDir } });
    try {
      const stdout: Buffer[] = [];
      const notices: string[] = [];
      const runId = `disk-${id()}/step.1`;
      const result = await own.runDetached('dragon', 'echo here', {
        runId,
        onStdout: (chunk) => stdout.push(chunk),
        onStderr: () => {},
        onNotice: (text) => notices.push(text),
      });
      expect({ result, stdout: Buffer.concat(stdout).toString(), notices }).toEqual({ result: { exitCode: 0 }, stdout: 'here\n', notices: [] });
      expect(host.sshd.inNamespace(`cat "${runDir}/runs/${runId}/out"`)).toBe('here\n');
    } finally {
      await own.close();
    }
  });
});
