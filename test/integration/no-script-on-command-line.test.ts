// A command's script, and the secrets in it, never stand on a command line: every user of a
// host reads command lines with ps. The real sshd runs on this machine, so its processes'
// command lines are read here, in /proc, while the command runs: attached, detached and
// through sudo. A detached run's folder (which holds the command as sent) is its owner's
// alone, while what the command itself creates gets the login's umask.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { HostPool } from '../../src/remote/host-pool.js';
import { makeHome, poolFor, removeHome, run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

/** Run ids of this test run: their folders are removed afterwards. */
const RUN_PREFIX = `noargv-${process.pid}-${randomBytes(3).toString('hex')}`;

/** The argv of every process on this machine (the sshd's sessions included). */
function commandLines(): string[][] {
  const lines: string[][] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const raw = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (raw !== '') lines.push(raw.replace(/\0$/, '').split('\0'));
    } catch {
      // The process ended meanwhile.
    }
  }
  return lines;
}

interface Watched {
  marker: string;
  /** Where the command writes once it runs. */
  flag: string;
  /** The command: the marker in its script, then a sleep whose argv (`sleep <pause>`) shows it is running. */
  command: string;
  pause: string;
}

function watchedCommand(scratch: string, extra = ''): Watched {
  const marker = `MARK-${randomBytes(8).toString('hex')}`;
  const flag = path.join(scratch, `${randomBytes(4).toString('hex')}.running`);
  const pause = `1.${String(100_000 + Math.floor(Math.random() * 900_000))}`;
  return { marker, flag, pause, command: `: ${marker}; ${extra}echo running > '${flag}'; sleep ${pause}` };
}

/**
 * While `running` (the command started by the caller) goes on: once the command wrote its
 * flag, no process's argv holds the marker, and its sleep is seen (the scan sees the host's
 * processes, and the command was still running when it looked).
 */
async function expectMarkerOnNoCommandLine(watched: Watched, running: Promise<{ exitCode: number | null }>): Promise<void> {
  let ended = false;
  void running.finally(() => (ended = true)).catch(() => {});
  await waitFor(() => existsSync(watched.flag) || ended, { what: 'the command to start' });
  expect(ended, 'the command ended before its command lines were read').toBe(false);
  // The flag is written just before the sleep starts: on a busy machine a first look may come
  // between the two, so the scan is repeated until it sees the sleep (or the command ends).
  let lines = commandLines();
  const sleeping = () => lines.filter((argv) => argv.includes('sleep') && argv.includes(watched.pause));
  await waitFor(() => (lines = commandLines()) && (sleeping().length > 0 || ended), { what: "the command's sleep on a command line" });
  expect(sleeping()).not.toEqual([]);
  expect(lines.filter((argv) => argv.some((arg) => arg.includes(watched.marker)))).toEqual([]);
  expect((await running).exitCode).toBe(0);
}

describeWithSshd('no script on a command line, and run folders for their owner only', () => {
  const host = withSshd({
    sudoUsers: [
      { name: 'nsnopw', nopasswd: true },
      { name: 'nsnopwtty', nopasswd: true, requiretty: true },
    ],
  });
  const homes: string[] = [];
  const pools: HostPool[] = [];
  const scratch = mkdtempSync(path.join(tmpdir(), 'ns-noargv-'));

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
    for (const home of homes) removeHome(home);
    rmSync(scratch, { recursive: true, force: true });
    for (const folder of readdirSync(runsFolder(), { withFileTypes: true })) {
      if (folder.name.startsWith(RUN_PREFIX)) rmSync(path.join(runsFolder(), folder.name), { recursive: true, force: true });
    }
  });

  function poolAs(user?: string, becomePty?: boolean): HostPool {
    const home = makeHome();
    homes.push(home);
    const pool = poolFor(host.sshd, { home, ...(user !== undefined ? { spec: { user, ...(becomePty ? { becomePty } : {}) } } : {}) });
    pools.push(pool);
    return pool;
  }

  /** Where this machine's user (the sshd's login) gets its run folders: the first base, its XDG state folder. */
  function runsFolder(): string {
    return path.join(homedir(), '.local/state/nightshift/runs');
  }

  it('an attached command: its script is on no command line while it runs', async () => {
    const pool = poolAs();
    const watched = watchedCommand(scratch);
    await expectMarkerOnNoCommandLine(watched, pool.exec('dragon', watched.command, { onStdout: () => {}, onStderr: () => {} }));
  });

  it.each([
    ['nsnopw', false],
    ['nsnopwtty', true],
  ])('a command through sudo as %s (become_pty: %s): its script is on no command line', async (user, becomePty) => {
    const pool = poolAs(user, becomePty);
    const watched = watchedCommand(scratch);
    const running = pool.exec('dragon', `[ "$(id -u)" = 0 ] || exit 7; ${watched.command}`, { onStdout: () => {}, onStderr: () => {}, become: 'sudo' });
    await expectMarkerOnNoCommandLine(watched, running);
  });

  it('a detached run: its script is on no command line while it runs', async () => {
    const pool = poolAs();
    const watched = watchedCommand(scratch);
    const runId = `${RUN_PREFIX}-running`;
    await expectMarkerOnNoCommandLine(watched, pool.runDetached('dragon', watched.command, { runId, onStdout: () => {}, onStderr: () => {} }));
    pool.releaseRun('dragon', runId);
  });

  it("a detached run's folder and command file are its owner's only; what the command makes has the login's umask", async () => {
    const pool = poolAs();
    const loginUmask = (await run(pool, 'umask')).stdout.trim();
    expect(loginUmask).toMatch(/^0?[0-7]{3}$/);
    // Otherwise what the command makes could not tell the login's umask from the run folder's.
    expect(Number.parseInt(loginUmask, 8) & 0o044).toBe(0);

    const made = path.join(scratch, 'made-by-the-command');
    const command = `umask > '${made}.umask'; echo made > '${made}'`;
    const runId = `${RUN_PREFIX}-modes`;
    const result = await pool.runDetached('dragon', command, { runId, onStdout: () => {}, onStderr: () => {} });
    expect(result.exitCode).toBe(0);

    const folder = path.join(runsFolder(), runId);
    // As sent, with the line end of the here-document that wrote it.
    expect(readFileSync(path.join(folder, 'command'), 'utf8')).toBe(`${command}\n`);
    expect((statSync(folder).mode & 0o777).toString(8)).toBe('700');
    expect((statSync(path.join(folder, 'command')).mode & 0o777).toString(8)).toBe('600');
    expect(readFileSync(`${made}.umask`, 'utf8').trim()).toBe(loginUmask);
    expect((statSync(made).mode & 0o777).toString(8)).toBe((0o666 & ~Number.parseInt(loginUmask, 8)).toString(8));
    pool.releaseRun('dragon', runId);
  });
});
