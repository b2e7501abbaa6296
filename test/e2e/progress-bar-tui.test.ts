// A progress bar drawn with carriage returns (dd status=progress, curl, rsync --progress) is
// seen while it runs in the full-screen view: its latest state, on one line, updated; not
// "no output yet" and not a pile of pieces. The log keeps every byte.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { BIN, clientFlags, freshStateDir, ROOT } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

/**
 * Counts up on one line until `go` exists, then ends the line, and stays until `go.seen` exists:
 * the view moves on to the next step as soon as this one ends.
 */
function bar(go: string): string {
  return `i=0; while [ ! -e ${go} ]; do i=$((i+1)); printf '\\rcopied %d MB' "$i" >&2; sleep 0.05; done; printf '\\rcopied all\\n' >&2; while [ ! -e ${go}.seen ]; do sleep 0.05; done`;
}

describeWithSshd('a progress bar in the full-screen view', () => {
  let sshd: Sshd;
  let dir: string;
  let tmux: TmuxSession | undefined;

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-progress-tui-'));
    sshd.writeClientFiles(dir, 'target');
    writeFileSync(
      path.join(dir, 'progress.yaml'),
      `name: Progress
hosts:
  target: {}
phases:
  - name: copy
    steps:
      - title: Local copy
        local: ${JSON.stringify(bar(path.join(dir, 'go-local')))}
      - title: Remote copy
        run: ${JSON.stringify(bar(path.join(dir, 'go-remote')))}
        host: target
      - checkpoint: Both copied.
`,
    );
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  afterEach(() => tmux?.kill());

  it.skipIf(!tmuxAvailable())(
    'shows the latest state of the line while it is rewritten, then the line it ends with',
    async () => {
      const stateDir = freshStateDir();
      tmux = TmuxSession.start([process.execPath, BIN, 'run', path.join(dir, 'progress.yaml'), ...clientFlags(dir)], {
        cwd: ROOT,
        env: { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
      });
      const term = tmux;
      for (const where of ['local', 'remote']) {
        const count = (screen: string) => Number(/│copied (\d+) MB\s*│/.exec(screen)?.[1] ?? -1);
        const first = await term.waitFor((s) => count(s) > 0, 20_000, `the ${where} bar`);
        const later = await term.waitFor((s) => count(s) > count(first) + 3, 10_000, `the ${where} bar to move on`);
        // One line for the bar, however many updates: never a second "copied" line.
        expect(later.match(/copied \d+ MB/g)).toHaveLength(1);
        expect(later).not.toContain('no output yet');
        writeFileSync(path.join(dir, `go-${where}`), '');
        await term.waitFor((s) => /│copied all\s*│/.test(s) && !/copied \d+ MB/.test(s), 20_000, `the ${where} bar's last line`);
        writeFileSync(path.join(dir, `go-${where}.seen`), '');
      }
      await term.waitFor((s) => s.includes('Both copied.') && /Confirm|confirm/.test(s), 20_000, 'the checkpoint');
      // The logs keep every update as it was printed.
      const outputs = path.join(stateDir, 'sessions', readdirSync(path.join(stateDir, 'sessions'))[0]!, 'output');
      const bars = readdirSync(outputs).filter((name) => readFileSync(path.join(outputs, name), 'utf8').startsWith('\rcopied 1 MB\rcopied 2 MB\r'));
      expect(bars).toHaveLength(2);
    },
    90_000,
  );

  it.skipIf(!tmuxAvailable())(
    'in plain mode on a terminal too: the line is rewritten in place, and ends as one printed line',
    async () => {
      tmux = TmuxSession.start([process.execPath, BIN, 'run', '--plain', path.join(dir, 'progress.yaml'), ...clientFlags(dir)], {
        cwd: ROOT,
        env: { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
      });
      const term = tmux;
      for (const where of ['local', 'remote']) {
        for (const file of [`go-${where}`, `go-${where}.seen`]) rmSync(path.join(dir, file), { force: true });
        const prefix = where === 'local' ? 'local\\|' : 'target\\|';
        const count = (screen: string) => Number(new RegExp(`^${prefix} copied (\\d+) MB\\s*$`, 'm').exec(screen)?.[1] ?? -1);
        const first = await term.waitFor((s) => count(s) > 0, 20_000, `the ${where} bar in plain mode`);
        const later = await term.waitFor((s) => count(s) > count(first) + 3, 10_000, `the ${where} bar to move on`);
        expect(later.match(/copied \d+ MB/g)).toHaveLength(1);
        writeFileSync(path.join(dir, `go-${where}`), '');
        await term.waitFor((s) => new RegExp(`^${prefix} copied all\\s*$`, 'm').test(s) && !/copied \d+ MB/.test(s), 20_000, `the ${where} bar's last line`);
        writeFileSync(path.join(dir, `go-${where}.seen`), '');
      }
    },
    90_000,
  );
});
