// The shell a command keeps ready for the next one (src/remote/warm-shell.ts), against the
// real sshd: the next command runs there without a channel of its own and means the same as
// on one, a shell that died meanwhile is passed over, and a server with few sessions gets
// the kept shell's session back for a hand shell.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { poolFor, run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

const KEPT_SHELL = /read -r n k/;
const runsFolder = path.join(homedir(), '.local/state/nightshift/runs');

describeWithSshd('a shell kept ready for the next command', () => {
  // At DEBUG1 sshd logs each session channel it opens.
  const host = withSshd({ extraConfig: ['LogLevel DEBUG1'] }, { home: 'test' });
  const sessionChannels = () =>
    host.sshd
      .log()
      .split('\n')
      .filter((line) => /channel_open: ctype session/.test(line)).length;
  const keptShells = () => host.sshd.sessionProcesses().filter((entry) => KEPT_SHELL.test(entry.args));

  it('runs the next command without a channel of its own, with the same output, status and stdin as on one', async () => {
    const pool = poolFor(host.sshd, { home: host.home });
    try {
      const before = sessionChannels();
      // cd and a variable: nothing of a command reaches the next, whose shell was started before it.
      expect(await run(pool, 'cd /tmp; x=set; echo first')).toMatchObject({ exitCode: 0, stdout: 'first\n' });
      expect(sessionChannels() - before).toBe(2);
      await waitFor(() => keptShells().length === 1, { what: 'a shell kept ready on the host', timeoutMs: 5000 });
      // Quotes, "!", backslashes, a line like the kept shell's header, and stdin read to its end.
      const hostile = [`printf '%s\\n' 'it'"'"'s !' 'a\\b' '12 keep' "x=[\${x-}]" "$(pwd)"`, 'cat; echo "stdin ended"', 'echo "to stderr" >&2', 'exit 7'].join(
        '\n',
      );
      const second = await run(pool, hostile);
      expect(second.stdout).toBe(`it's !\na\\b\n12 keep\nx=[]\n${homedir()}\nstdin ended\n`);
      expect(second.stderr.endsWith('to stderr\n')).toBe(true);
      expect(second.stderr).not.toMatch(/nightshift-pid/);
      expect(second.exitCode).toBe(7);
      // Its own channel would have made two more: only the shell it keeps ready in turn is new.
      expect(sessionChannels() - before).toBe(3);
    } finally {
      await pool.close();
    }
    // Ended with the connection: nothing waits on the host.
    await waitFor(() => keptShells().length === 0, { what: 'the kept shell gone with the connection', timeoutMs: 5000 });
  });

  it('passes over a kept shell that died, and keeps none on that connection after', async () => {
    const pool = poolFor(host.sshd, { home: host.home });
    try {
      await run(pool, 'true');
      await waitFor(() => keptShells().length === 1, { what: 'a shell kept ready on the host', timeoutMs: 5000 });
      for (const shell of keptShells()) process.kill(shell.pid, 'SIGKILL');
      await waitFor(() => keptShells().length === 0, { what: 'the kept shell killed', timeoutMs: 5000 });
      // Taken before its end was heard, it read nothing: the command goes on a channel of its own.
      expect(await run(pool, 'echo still runs; exit 3')).toMatchObject({ exitCode: 3, stdout: 'still runs\n' });
      const before = sessionChannels();
      expect(await run(pool, 'echo and again')).toMatchObject({ exitCode: 0, stdout: 'and again\n' });
      // A channel of its own, and none kept ready after.
      expect(sessionChannels() - before).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(keptShells()).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it('runs each of several commands in a row once', async () => {
    const pool = poolFor(host.sshd, { home: host.home });
    const marks = mkdtempSync(path.join(tmpdir(), 'ns-warm-'));
    try {
      const file = path.join(marks, 'count');
      for (let i = 0; i < 4; i++) await run(pool, `echo x >> '${file}'`);
      expect(readFileSync(file, 'utf8')).toBe('x\nx\nx\nx\n');
    } finally {
      await pool.close();
      rmSync(marks, { recursive: true, force: true });
    }
  });
});

describeWithSshd('a shell kept ready, on a server with two sessions per connection', () => {
  const host = withSshd({ extraConfig: ['MaxSessions 2'] }, { home: 'test' });
  afterAll(() => {
    for (const entry of readdirSync(runsFolder).filter((name) => name.startsWith('warm-')))
      rmSync(path.join(runsFolder, entry), { recursive: true, force: true });
  });

  it('gives its session back for a hand shell', async () => {
    const pool = poolFor(host.sshd, { home: host.home });
    try {
      await run(pool, 'true');
      const runId = `warm-${randomBytes(4).toString('hex')}/step.1`;
      await pool.runDetached('dragon', 'true', { runId, onStdout: () => undefined, onStderr: () => undefined });
      const shell = await pool.openShell('dragon', { term: 'dumb', cols: 80, rows: 24 });
      let seen = '';
      shell.onData((chunk) => (seen += chunk.toString()));
      shell.write('echo hand-$((40+2)); exit\n');
      await shell.closed;
      expect(seen).toMatch(/hand-42/);
      pool.releaseRun('dragon', runId);
    } finally {
      await pool.close();
    }
  });
});
