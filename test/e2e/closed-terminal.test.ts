// The terminal nightshift runs in is closed mid-step (a tmux window killed, the tmux server
// killed: what a dropped ssh to the upgrader's jump box does to its terminal). In both views
// the run pauses as with kill -HUP: exit status 4, the pause journaled once, the session
// paused (not interrupted) and its lock gone; resume follows the detached step on.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { clientFlags, BIN, converse, freshStateDir, ROOT, typedAnswer } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Runs a program as an interactive shell runs a job: SIGHUP is passed on to it (so a closed
 * terminal may bring it two), and its exit status is written to a file, since the terminal
 * that would show it is gone.
 */
const EXIT_RECORDER = `
const { spawn } = require('node:child_process');
const { renameSync, writeFileSync } = require('node:fs');
const [statusFile, command, ...args] = process.argv.slice(1);
const child = spawn(command, args, { stdio: 'inherit' });
process.on('SIGHUP', () => child.kill('SIGHUP'));
// Written whole, then renamed: the test waits for the file and must never read it half written.
child.on('exit', (code, signal) => {
  writeFileSync(statusFile + '.tmp', code !== null ? String(code) : 'signal ' + signal);
  renameSync(statusFile + '.tmp', statusFile);
});
`;

interface Entry {
  type: string;
  stepId?: string;
  attempt?: number;
  status?: string;
  outcome?: string;
  reason?: string;
}

describeWithSshd('a terminal closed under a run', () => {
  let sshd: Sshd;
  let dir: string;
  let tmux: TmuxSession | undefined;
  const made: string[] = [];
  const sessionIds: string[] = [];

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-closed-terminal-'));
    sshd.writeClientFiles(dir, 'dolphin');
    writeFileSync(
      path.join(dir, 'closed.yaml'),
      [
        'name: closed terminal',
        'hosts:',
        '  dolphin: {}',
        'phases:',
        '  - name: restore',
        '    steps:',
        '      - run: for i in $(seq 1 40); do echo line $i; sleep 0.1; done',
        '        host: dolphin',
        '        id: slow',
        '      - local: echo after',
        '        id: after',
        '',
      ].join('\n'),
    );
  });
  afterEach(() => tmux?.kill());
  afterAll(async () => {
    await sshd?.stop();
    for (const id of sessionIds) rmSync(path.join(homedir(), '.local/state/nightshift/runs', id), { recursive: true, force: true });
    for (const folder of [dir, ...made]) rmSync(folder, { recursive: true, force: true });
  });

  const cases = [
    ['full screen', 'kill-window'],
    ['full screen', 'kill-server'],
    ['plain', 'kill-window'],
    ['plain', 'kill-server'],
  ] as const;

  it.skipIf(!tmuxAvailable()).each(cases)(
    '%s, %s mid-step: paused, lock released, and resume goes on',
    async (view, how) => {
      const stateDir = freshStateDir();
      made.push(stateDir);
      const env = { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' };
      const statusFile = path.join(stateDir, 'exit-status');
      const sshArgs = [...clientFlags(dir)];
      tmux = TmuxSession.start(
        [
          process.execPath,
          '-e',
          EXIT_RECORDER,
          statusFile,
          process.execPath,
          BIN,
          'run',
          ...(view === 'plain' ? ['--plain'] : []),
          '--no-helpers',
          path.join(dir, 'closed.yaml'),
          ...sshArgs,
        ],
        { cwd: ROOT, env },
      );
      await tmux.waitFor(view === 'plain' ? /dolphin\| line 5$/m : /│line 5\s/, 20_000, 'the detached step under way');

      if (how === 'kill-window') tmux.killWindow();
      else tmux.kill();
      await waitFor(() => existsSync(statusFile), { what: 'nightshift to exit after its terminal closed', timeoutMs: 20_000, intervalMs: 100 });
      expect(existsSync(statusFile), 'nightshift did not exit within 20 s of its terminal closing').toBe(true);
      expect(readFileSync(statusFile, 'utf8')).toBe('4');

      const sessions = path.join(stateDir, 'sessions');
      const [id] = readdirSync(sessions);
      sessionIds.push(id!);
      const session = path.join(sessions, id!);
      const journal = () =>
        readFileSync(path.join(session, 'journal.jsonl'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Entry);
      expect(existsSync(path.join(session, 'lock'))).toBe(false);
      const paused = journal().filter((entry) => entry.type === 'session.paused');
      expect(paused).toHaveLength(1);
      expect(paused[0]).toMatchObject({ stepId: 'slow', reason: expect.stringMatching(/^(received SIGHUP|the terminal closed)$/) });
      expect(journal().at(-1)).toMatchObject({ type: 'session.closed', outcome: 'paused' });
      const listing = converse(['sessions'], () => undefined, env);
      expect(await listing.exited).toBe(0);
      expect(listing.lines.join('\n')).toMatch(new RegExp(`${id}\\s+closed terminal\\s+paused\\s+1\\.1 `));

      const resumed = converse(['resume', '--plain', ...sshArgs], typedAnswer, env);
      expect(await resumed.exited, resumed.lines.join('\n') + resumed.stderr()).toBe(0);
      const entries = journal();
      expect(entries.filter((entry) => entry.type === 'step.started' && entry.stepId === 'slow')).toHaveLength(1);
      expect(entries.filter((entry) => entry.type === 'step.finished')).toEqual([
        expect.objectContaining({ stepId: 'slow', status: 'done' }),
        expect.objectContaining({ stepId: 'after', status: 'done' }),
      ]);
      const log = readFileSync(path.join(session, 'output', 'slow.1.log'), 'utf8');
      expect(log).toBe(Array.from({ length: 40 }, (_, index) => `line ${index + 1}\n`).join(''));
    },
    90_000,
  );
});
