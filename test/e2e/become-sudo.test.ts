// become: sudo through the built binary, in plain mode and full screen, against a real sshd and the real
// sudo, logged in as a user that exists only in sshd's mount namespace. The password is
// typed once (a wrong one first), and afterwards is found nowhere: not in what nightshift
// printed, not in its state folder (session, journal, output logs, reports), not on the host.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { clientFlags, BIN, converse, freshStateDir, ROOT, typedAnswer } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

const PASSWORD = `o'ne "two" $three; four\\ ü-${process.pid}`;

describeWithSshd('nightshift run with become: sudo', () => {
  let sshd: Sshd;
  let dir: string;
  let stateDir: string;
  let tmux: TmuxSession | undefined;

  beforeAll(async () => {
    sshd = await Sshd.start({ privateVarTmp: true, sudoUsers: [{ name: 'nspw', password: PASSWORD }] });
    dir = mkdtempSync(path.join(tmpdir(), 'ns-become-e2e-'));
    stateDir = freshStateDir();
    sshd.writeClientFiles(dir, 'target', { user: 'nspw' });
    writeFileSync(path.join(dir, 'payload.txt'), 'root-owned payload\n');
    writeFileSync(
      path.join(dir, 'become.yaml'),
      [
        'name: become',
        'hosts:',
        '  target: { become: sudo }',
        'phases:',
        '  - name: all',
        '    steps:',
        '      - id: detached',
        '        run: echo "uid $(id -u)"; echo "err as $(id -un)" >&2',
        '        host: target',
        '        check: test -r /etc/shadow && false',
        '      - id: foreground',
        '        run: head -c 0 /etc/shadow && echo "shadow read by $(id -un)"',
        '        host: target',
        '        attach: false',
        '      - id: as-user',
        '        run: echo "plain uid $(id -u)"',
        '        host: target',
        '        become: none',
        `      - upload: ${JSON.stringify(path.join(dir, 'payload.txt'))}`,
        `        to: /root/ns-become-e2e-${process.pid}.txt`,
        '        host: target',
        '        mode: "600"',
        '      - wait: command',
        '        command: test -w /etc/shadow',
        '        host: target',
        '      - preflight: target',
        '        checks:',
        '          - mem_available: 1M',
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(dir, 'one.yaml'),
      [
        'name: one',
        'hosts:',
        '  target: { become: sudo }',
        'phases:',
        '  - name: all',
        '    steps:',
        '      - run: echo "full screen uid $(id -u)"',
        '        host: target',
        '',
      ].join('\n'),
    );
  });
  afterEach(() => tmux?.kill());
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('asks once (again after a refusal), runs every step as root but the opted-out one, and writes the password nowhere', async () => {
    const asked: string[] = [];
    const run = converse(
      ['run', '--plain', path.join(dir, 'become.yaml'), ...clientFlags(dir)],
      (line) => {
        if (/sudo password for nspw on target/.test(line)) {
          asked.push(line);
          return asked.length === 1 ? 'not-the-password' : PASSWORD;
        }
        return typedAnswer(line);
      },
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    const code = await run.exited;
    const printed = `${run.lines.join('\n')}\n${run.stderr()}`;
    expect(code, printed).toBe(0);
    expect(asked).toHaveLength(2);
    expect(asked[1]).toMatch(/refused that password/);
    expect(run.lines).toEqual(expect.arrayContaining(['target| uid 0', 'target| err as root', 'target| shadow read by root', 'target| plain uid 46100']));
    expect(sshd.inNamespace(`stat -c '%U %a' /root/ns-become-e2e-${process.pid}.txt; rm -f /root/ns-become-e2e-${process.pid}.txt`)).toBe('root 600\n');

    expect(printed).not.toContain(PASSWORD);
    const files = spawnSync('grep', ['-rlF', '--', PASSWORD, stateDir], { encoding: 'utf8' });
    expect(files.stdout).toBe('');
    // The state folder holds the session: it was looked through, not empty.
    const sessions = readdirSync(path.join(stateDir, 'sessions'));
    expect(sessions).toHaveLength(1);
    expect(readFileSync(path.join(stateDir, 'sessions', sessions[0]!, 'journal.jsonl'), 'utf8')).toContain('step.finished');
    const onHost = sshd.inNamespace(
      `grep -rlF -- '${PASSWORD.replace(/'/g, `'\\''`)}' /tmp /var/tmp /root/.local/state/nightshift /root/.cache/nightshift ${sshd.dir}/homes 2>/dev/null; echo searched`,
    );
    expect(onHost).toBe('searched\n');
  }, 120_000);

  it.skipIf(!tmuxAvailable())(
    'full screen: the password shows as stars, a refused one is said so, and the run goes on',
    async () => {
      const tuiState = freshStateDir();
      const WRONG = 'not-it-either';
      tmux = TmuxSession.start([process.execPath, BIN, 'run', path.join(dir, 'one.yaml'), ...clientFlags(dir)], {
        cwd: ROOT,
        env: { NIGHTSHIFT_STATE_DIR: tuiState, SSH_AUTH_SOCK: '' },
      });
      const term = tmux;
      try {
        await term.waitFor(/sudo password for nspw on target/, 20_000, 'the sudo password prompt');
        term.type(WRONG);
        let screen = await term.waitFor(new RegExp(`\\*{${WRONG.length}}`), 5000, 'the typed password as stars');
        expect(screen).not.toContain(WRONG);
        term.keys('Enter');
        await term.waitFor((text) => /refused that password/.test(text) && !/\*{4,}/.test(text), 15_000, 'the prompt again, saying why');
        term.type(PASSWORD);
        screen = await term.waitFor(/\*{8,}/, 5000, 'the second password as stars');
        expect(screen).not.toContain(PASSWORD);
        term.keys('Enter');
        screen = await term.waitFor(/The run completed/, 30_000, 'the run to complete');
        expect(screen).not.toContain(PASSWORD);
        term.keys('q');
        expect(await term.waitForExit(10_000)).toBe(0);
        const files = spawnSync('grep', ['-rlF', '--', PASSWORD, tuiState], { encoding: 'utf8' });
        expect(files.stdout).toBe('');
        expect(spawnSync('grep', ['-rl', 'full screen uid 0', tuiState], { encoding: 'utf8' }).stdout).not.toBe('');
      } finally {
        rmSync(tuiState, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
