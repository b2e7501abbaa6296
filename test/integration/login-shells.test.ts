// Commands and nightshift's own scripts run under /bin/sh whatever the user's login shell is.
// The real sshd logs the test user in with tcsh, dash or BusyBox ash (a passwd copy in sshd's
// own mount namespace; the machine's users are not changed) and each step kind must behave
// exactly as it does under bash. A login shell that ignores its command and exits 0 must not
// pass for a check that succeeded.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StepOutput } from '../../src/output/step-output.js';
import { parseRunbook } from '../../src/runbook/load.js';
import type { PreflightStep, RunStep } from '../../src/runbook/types.js';
import { runPreflight } from '../../src/runner/preflight.js';
import { runWithRevert } from '../../src/runner/revert.js';
import { run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { withSshd } from '../support/with-sshd.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'ns-shells-'));
const machinePasswd = readFileSync('/etc/passwd', 'utf8');
// BusyBox picks its applet by the name it was started as: a login shell named ash.
const busyboxAsh = path.join(scratch, 'ash');
symlinkSync('/bin/busybox', busyboxAsh);

/** POSIX sh that csh and tcsh reject outright ($(...), ${x:-y}, 2>&1 after a redirection). */
const POSIX_COMMAND = 'x=$(echo posix); y=${UNSET_HERE:-default}; echo "$x $y"; echo "to stderr" 1>&2; exit 3';

function stepOf<T>(yaml: string): T {
  const runbook = parseRunbook(`name: t\nhosts:\n  dragon: {}\nphases:\n  - name: one\n    steps:\n${yaml}`, 'rb.yaml');
  return runbook.phases[0]!.steps[0] as T;
}

function runbookSites() {
  return parseRunbook('name: t\nhosts:\n  dragon: {}\nphases:\n  - name: one\n    steps:\n      - note: hi\n', 'rb.yaml').sites;
}

function freshOutput(): StepOutput {
  return new StepOutput(path.join(scratch, `out-${randomBytes(4).toString('hex')}.log`));
}

async function linesOf(output: StepOutput): Promise<string[]> {
  await output.close();
  return output.ring.tail(200).map((line) => line.text);
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each([
  ['bash', '/bin/bash'],
  ['tcsh', '/usr/bin/tcsh'],
  ['dash', '/usr/bin/dash'],
  ['BusyBox ash', busyboxAsh],
])('steps on a host whose login shell is %s', (_, loginShell) => {
  describeWithSshd('against the real sshd', () => {
    const host = withSshd({ loginShell, home: {} }, { pool: true });

    it('logs the user in with that shell, on that sshd only', async () => {
      expect((await run(host.pool, 'getent passwd "$(id -un)" | cut -d: -f7')).stdout).toBe(`${loginShell}\n`);
      expect(readFileSync('/etc/passwd', 'utf8')).toBe(machinePasswd);
    });

    it('runs a command and a check command under /bin/sh', async () => {
      expect(await run(host.pool, POSIX_COMMAND)).toEqual({ stdout: 'posix default\n', stderr: 'to stderr\n', exitCode: 3 });
      // What the runner does with a step's check: only the exit status counts.
      expect((await run(host.pool, '[ "$(echo done)" = done ]')).exitCode).toBe(0);
      expect((await run(host.pool, '[ "$(echo done)" = not-done ]')).exitCode).toBe(1);
      // History expansion and newlines reach /bin/sh untouched.
      expect((await run(host.pool, 'echo \'a!b\'\necho "c!d"')).stdout).toBe('a!b\nc!d\n');
    });

    it("runs a public script carried on the command line (the check's probe) under /bin/sh, every byte as written", async () => {
      // The launcher's own command line (its pid is $$ in the script) shows the script went there.
      const carried = `case $(tr '\\000' ' ' </proc/$$/cmdline) in *'c=$(printf "'*) echo carried ;; esac`;
      const script = `${carried}\nprintf '%s\\n' "it's" '$HOME' 'a!b' '100%' 'back\\slash' 'é'; ${POSIX_COMMAND}`;
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const result = await host.pool.exec('dragon', script, {
        onStdout: (chunk) => stdout.push(chunk),
        onStderr: (chunk) => stderr.push(chunk),
        scriptIsPublic: true,
      });
      expect(Buffer.concat(stdout).toString()).toBe("carried\nit's\n$HOME\na!b\n100%\nback\\slash\né\nposix default\n");
      expect(Buffer.concat(stderr).toString()).toBe('to stderr\n');
      expect(result.exitCode).toBe(3);
    });

    it('runs a detached step under /bin/sh: its output, stderr and exit status', async () => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const result = await host.pool.runDetached('dragon', POSIX_COMMAND, {
        runId: `shells-${randomBytes(4).toString('hex')}/step.1`,
        onStdout: (chunk) => stdout.push(chunk),
        onStderr: (chunk) => stderr.push(chunk),
      });
      expect({ result, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }).toEqual({
        result: { exitCode: 3 },
        stdout: 'posix default\n',
        stderr: 'to stderr\n',
      });
    });

    it('fails a preflight fstab check naming a UUID that no filesystem has', async () => {
      const fstab = path.join(scratch, `fstab-${randomBytes(4).toString('hex')}`);
      writeFileSync(fstab, 'UUID=0ddba11-no-such-fs / ext4 defaults 0 1\n');
      const step = stepOf<PreflightStep>(`      - preflight: dragon\n        checks:\n          - fstab: ${fstab}\n`);
      const output = freshOutput();
      const error = await runPreflight(step, host.pool, output, new AbortController().signal).then(
        () => undefined,
        (failure: Error) => failure.message,
      );
      const lines = await linesOf(output);
      expect(lines[0]).toBe(
        `FAILED: fstab ${fstab}: its filesystems and the boot entry's root= exist: no filesystem here has UUID=0ddba11-no-such-fs (in ${fstab})`,
      );
      expect(error).toBe('1 of 1 preflight checks failed on dragon: fstab');
    });

    it('arms a revert, makes the change and disarms it from a new connection', async () => {
      const state = path.join(host.sshd.homeDir, `changed-${randomBytes(4).toString('hex')}`);
      const step = stepOf<RunStep>(
        `      - run: x=$(echo changed); echo "$x" > ${state}\n        host: dragon\n        revert_after: 30s\n        revert: rm -f ${state}\n`,
      );
      const output = freshOutput();
      const events: string[] = [];
      const controller = new AbortController();
      const result = await runWithRevert(
        { ...step, revert: step.revert! },
        {
          hosts: host.pool,
          output,
          sessionId: `shells-${randomBytes(4).toString('hex')}`,
          attempt: 1,
          signal: controller.signal,
          sites: runbookSites(),
          onEvent: (event) => events.push(event.type),
        },
        () =>
          host.pool.runDetached('dragon', step.command, {
            runId: `shells-${randomBytes(4).toString('hex')}/${step.id}.1`,
            onStdout: (chunk) => output.write(chunk),
            onStderr: (chunk) => output.write(chunk, true),
          }),
      );
      const lines = await linesOf(output);
      expect(result).toEqual({ exitCode: 0 });
      expect(events).toEqual(['revert.armed', 'revert.disarmed']);
      expect(lines.join('\n')).toMatch(/revert armed on dragon with a sleeper \(pid \d+\)/);
      expect(lines.join('\n')).toMatch(/dragon answered a new connection: the revert is disarmed and the change stays/);
      expect(readFileSync(state, 'utf8')).toBe('changed\n');
    });

    it('uploads a file and verifies its sha256 on the host', async () => {
      const local = path.join(scratch, `upload-${randomBytes(4).toString('hex')}`);
      writeFileSync(local, randomBytes(300_000));
      const remote = path.join(host.sshd.homeDir, path.basename(local));
      const result = await host.pool.upload('dragon', local, remote);
      expect(result.bytes).toBe(300_000);
      expect(execFileSync('cmp', [local, remote]).toString()).toBe('');
    });
  });
});

describeWithSshd('a login shell that only prints, with escape sequences, and exits 0', () => {
  const host = withSshd({ extraConfig: ["ForceCommand printf '\\033]0;owned\\007\\033[2Jnot a shell at all\\n'"] }, { pool: true });

  it('fails the command quoting what it said, with nothing left to drive a terminal', async () => {
    const failure = await run(host.pool, 'true').then(
      () => 'ran',
      (error: Error) => error.message,
    );
    expect(failure).toMatch(
      /the login shell there did not start nightshift's \/bin\/sh launcher \(it ended with exit status 0 and said: (0;owned)?not a shell at all\)/,
    );
    // eslint-disable-next-line no-control-regex
    expect(failure).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});

describeWithSshd('a login shell that ignores its command and exits 0', () => {
  const host = withSshd({ loginShell: '/bin/true', home: {} }, { pool: true });

  it('fails a command and a check command: they never ran', async () => {
    await expect(run(host.pool, 'true')).rejects.toThrow(
      /^The command did not run on dragon \(127\.0\.0\.1:\d+\): the login shell there did not start nightshift's \/bin\/sh launcher \(it ended with exit status 0 and printed nothing\)/,
    );
  });

  it('fails a preflight check, saying why', async () => {
    const fstab = path.join(scratch, 'fstab-true');
    writeFileSync(fstab, 'UUID=0ddba11-no-such-fs / ext4 defaults 0 1\n');
    const step = stepOf<PreflightStep>(`      - preflight: dragon\n        checks:\n          - fstab: ${fstab}\n          - mem_available: 1M\n`);
    const output = freshOutput();
    const error = await runPreflight(step, host.pool, output, new AbortController().signal).then(
      () => undefined,
      (failure: Error) => failure.message,
    );
    const lines = await linesOf(output);
    expect(lines[0]).toMatch(/^FAILED: fstab .*: the check did not run: The command did not run on dragon/);
    expect(lines[1]).toMatch(/^FAILED: mem_available: at least 1M available: the check did not run: The command did not run on dragon/);
    expect(error).toBe('2 of 2 preflight checks failed on dragon: fstab, mem_available');
  });

  it('fails a detached step instead of reporting an exit status', async () => {
    await expect(host.pool.runDetached('dragon', 'echo hi', { runId: 'true-shell/step.1', onStdout: () => {}, onStderr: () => {} })).rejects.toThrow(
      /The command did not run on dragon/,
    );
  });
});
