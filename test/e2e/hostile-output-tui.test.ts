// A command that prints terminal control sequences must not drive the upgrader's terminal:
// no window title set, no screen cleared, no colour leaking, the frame intact. On screen the
// sequences are gone and other control characters show as ^X; the log keeps the raw bytes.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { clientFlags, BIN, freshStateDir, ROOT } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

/** Sets the title, clears the screen, turns red, homes the cursor, leaves the alternate screen. */
const HOSTILE = String.raw`\033]0;owned\007\033[2J\033[31mred\033[0m\033[H\033[?1049l after`;
const HOSTILE_BYTES = '\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m\x1b[H\x1b[?1049l after';

function hostileCommand(where: string, go: string): string {
  // Prints, then stays running until the test has looked at the screen.
  return `printf '${where} before\\n${HOSTILE}\\nbell\\007 back\\010space\\n'; while [ ! -e ${go} ]; do sleep 0.1; done`;
}

describeWithSshd('hostile output in the full-screen view', () => {
  let sshd: Sshd;
  let dir: string;
  let tmux: TmuxSession | undefined;

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-hostile-'));
    sshd.writeClientFiles(dir, 'target');
    writeFileSync(
      path.join(dir, 'hostile.yaml'),
      `name: Hostile output
hosts:
  target: {}
phases:
  - name: print
    steps:
      - title: Local escapes
        local: ${JSON.stringify(hostileCommand('local', path.join(dir, 'go-local')))}
      - title: Remote escapes
        run: ${JSON.stringify(hostileCommand('remote', path.join(dir, 'go-remote')))}
        host: target
      - checkpoint: Both have printed.
`,
    );
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => tmux?.kill());

  it.skipIf(!tmuxAvailable())(
    'shows it neutralized, keeps the frame and the title, and logs the raw bytes',
    async () => {
      const stateDir = freshStateDir();
      tmux = TmuxSession.start([process.execPath, BIN, 'run', path.join(dir, 'hostile.yaml'), ...clientFlags(dir)], {
        cwd: ROOT,
        env: { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
      });
      const term = tmux;
      const titleBefore = term.title();

      for (const where of ['local', 'remote']) {
        const screen = await term.waitFor((s) => s.includes(`│${where} before `) && /│bell\^G back\^Hspace\s*│/.test(s), 20_000, `the ${where} step's output`);
        const lines = screen.replace(/\n$/, '').split('\n');

        // The sequences are gone from the text, nothing else of the line is.
        expect(screen).toMatch(/│red after\s*│/);
        expect(screen).not.toContain('owned');

        // The frame is whole: the title line on top, the runbook panel with its steps, the
        // status bar on the last row; nothing was cleared or overwritten from the top-left.
        expect(lines).toHaveLength(40);
        expect(lines[0]).toMatch(/^nightshift · Hostile output/);
        expect(lines[1]).toMatch(/^╭─+╮╭─+╮\s*$/);
        expect(screen).toMatch(/│1 print\s/);
        expect(screen).toMatch(/│ . 1\.1 Local escapes/);
        expect(screen).toMatch(/│ . 1\.2 Remote escapes/);
        expect(screen).toMatch(/│ · 1\.3 Both have printed\./);
        // The status bar last: the host is logged in from the check on (the run goes on with its login).
        expect(lines[39]).toMatch(/● target .*\? keys$/);

        // The title stayed as it was and "red" is drawn in the panel's own colours.
        // The title is the terminal's own or one of nightshift's fixed words, never the output's.
        expect([titleBefore, 'nightshift', 'nightshift: waiting for you']).toContain(term.title());
        const styled = term
          .styledScreen()
          .split('\n')
          .find((line) => line.includes('red after'))!;
        // eslint-disable-next-line no-control-regex
        expect(styled).not.toMatch(/\x1b\[[0-9;]*(?:31|38;5;1|38;2;\d+;0;0)[;m][^\n]*red after/);
        writeFileSync(path.join(dir, `go-${where}`), '');
      }

      await term.waitFor(/CHECKPOINT/, 20_000, 'the checkpoint after both steps');
      term.keys('y');
      await term.waitFor(/The run completed/, 10_000);
      term.keys('q');
      expect(await term.waitForExit()).toBe(0);
      expect(term.title()).toBe(titleBefore);

      // The logs hold what the commands printed, byte for byte.
      const sessions = path.join(stateDir, 'sessions');
      const output = path.join(sessions, readdirSync(sessions)[0]!, 'output');
      const logs = readdirSync(output).map((name) => readFileSync(path.join(output, name), 'latin1'));
      for (const where of ['local', 'remote']) {
        expect(logs).toContainEqual(`${where} before\n${HOSTILE_BYTES}\nbell\x07 back\x08space\n`);
      }
      expect(existsSync(path.join(dir, 'go-remote'))).toBe(true);
    },
    90_000,
  );
});
