// The moments between `!` and the shell, in a real terminal against the test sshd, on a login
// that takes its time (a relay holds the new connection until the test lets it through): what
// is typed then goes to the shell, never to the view, and Ctrl-C gives the opening up.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { BIN, clientFlags, freshStateDir, ROOT } from '../support/cli.js';
import { scratchFolders } from '../support/scratch-folder.js';
import { describeWithSshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';
import { withSshd } from '../support/with-sshd.js';

const FIRST_PHASE = `hosts:
  later: {}
phases:
  - name: here
    steps:
      - title: Something local
        local: echo here
      - checkpoint: Look at the host first.
`;
// The host is first used in the second phase: at the checkpoint (and with --no-check) nobody
// has logged in to it yet, so `!` logs in, through the relay.
const RUNBOOK = `name: Later
${FIRST_PHASE}  - name: there
    steps:
      - title: On the host
        run: echo there
        host: later
`;
// The host for a shell only: giving the opening up leaves nobody logged in to it.
const SHELL_ONLY_RUNBOOK = `name: Shell only
${FIRST_PHASE}  - name: after
    steps:
      - title: Something local after
        local: echo after
`;

describeWithSshd('a shell by hand while it opens', () => {
  const host = withSshd();
  const dir = scratchFolders()('ns-shell-opening-');
  let relay: TcpRelay;
  let term: TmuxSession | undefined;
  let held: { release(): void; drop(): void } | undefined;

  beforeAll(async () => {
    relay = await TcpRelay.start(host.sshd.port);
    host.sshd.writeClientFiles(dir, 'later', { port: relay.port });
    writeFileSync(path.join(dir, 'later.yaml'), RUNBOOK);
    writeFileSync(path.join(dir, 'shell-only.yaml'), SHELL_ONLY_RUNBOOK);
  });
  afterEach(() => {
    held?.drop();
    term?.kill();
    term = undefined;
  });
  afterAll(() => relay.close());

  const start = (stateDir: string, runbook = 'later.yaml') => {
    term = TmuxSession.start([process.execPath, BIN, 'run', path.join(dir, runbook), '--no-check', ...clientFlags(dir), '--no-helpers'], {
      cwd: ROOT,
      env: { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
      cols: 100,
      rows: 30,
    });
    return term;
  };
  const journalOf = (stateDir: string) => {
    const [session] = readdirSync(path.join(stateDir, 'sessions'));
    return readFileSync(path.join(stateDir, 'sessions', session!, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string });
  };
  /** `!` with the login held: the terminal says the shell is opening. */
  const openHeld = async (term: TmuxSession) => {
    await term.waitFor(/CHECKPOINT · 1\.2/, 20_000, 'the checkpoint');
    held = relay.holdNew();
    term.keys('!');
    await term.waitFor(/^nightshift · opening a shell on later… \(what you type now goes to it; Ctrl-C gives up\)/m, 10_000, 'the opening');
  };

  it.skipIf(!tmuxAvailable())(
    'what is typed while the shell opens goes to it once it is there; a y among it does not confirm the checkpoint',
    async () => {
      const stateDir = freshStateDir();
      const term = start(stateDir);
      await openHeld(term);
      // Ctrl-U clears the y from the shell's line.
      term.keys('y', 'C-u');
      term.type('echo ahead-$((6*7))');
      term.keys('Enter');
      // Nothing typed shows yet (no echo but the shell's), and the view did not take the keys.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(term.screen()).not.toMatch(/ahead|CHECKPOINT/);
      held!.release();
      await term.waitFor(/^ahead-42/m, 15_000, 'the typed-ahead command, run by the shell');
      term.type('exit');
      term.keys('Enter');
      const back = await term.waitFor(/back from the shell on later: it exited 0/, 15_000, 'the view again');
      expect(back).toMatch(/CHECKPOINT · 1\.2/);
      expect(journalOf(stateDir).some((entry) => entry.type === 'step.confirmed')).toBe(false);
      term.keys('y');
      await term.waitFor(/The run completed/, 20_000, 'the end of the run');
      term.keys('q');
      expect(await term.waitForExit(10_000)).toBe(0);
    },
    90_000,
  );

  it.skipIf(!tmuxAvailable())(
    'Ctrl-C while the shell opens gives it up: the view is back at once saying so, takes keys again, and no shell is journaled',
    async () => {
      const stateDir = freshStateDir();
      const term = start(stateDir, 'shell-only.yaml');
      await openHeld(term);
      term.keys('C-c');
      const back = await term.waitFor(/no shell on later: given up while it opened/, 10_000, 'the view again');
      expect(back).toMatch(/CHECKPOINT · 1\.2/);
      expect(back).not.toMatch(/Press Ctrl-C again/);
      // The login never gets through: no login shell is started only to be killed as it starts.
      held!.drop();
      term.keys('y');
      await term.waitFor(/The run completed/, 20_000, 'the end of the run');
      term.keys('q');
      expect(await term.waitForExit(10_000)).toBe(0);
      expect(journalOf(stateDir).filter((entry) => entry.type.startsWith('shell.'))).toEqual([]);
    },
    90_000,
  );
});
