// The command a run shows for a helper on the same machine is one that works as printed: the
// program's own path, or `nightshift join` where that name on the PATH is this program.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BIN, type Conversation, converse, freshStateDir, ROOT } from '../support/cli.js';
import { waitForValue } from '../support/wait-for.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

describe('joining from a second terminal on this machine', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-join-here-'));
  const runbook = path.join(dir, 'wait.yaml');
  writeFileSync(runbook, 'name: wait for the site\nphases:\n  - name: one\n    steps:\n      - checkpoint: the cable is moved\n        by: sentinel\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The line plain mode says how helpers join with, once it has said it. */
  function joinLineOf(run: Conversation): Promise<string> {
    return waitForValue(() => run.lines.find((each) => each.startsWith('helpers join with: ')), {
      what: 'the join line',
      timeoutMs: 20_000,
      detail: () => run.lines.join('\n') + run.stderr(),
    });
  }

  /** Runs until the join line, then types the command shown with --dry-run: the ssh it would run. */
  async function shownAndTried(env: Record<string, string>): Promise<{ shown: string; port: string; tried: string }> {
    const run = converse(['run', '--plain', runbook], () => undefined, env);
    try {
      const line = await joinLineOf(run);
      const match = /^helpers join with: (.+) in a second terminal \(or ssh -p (\d+) sentinel@127\.0\.0\.1\) · code /.exec(line);
      expect(match, line).not.toBeNull();
      const [, shown, port] = match!;
      const tried = execFileSync('sh', ['-c', `${shown} --dry-run`], { env: { ...process.env, ...env }, encoding: 'utf8' });
      return { shown: shown!, port: port!, tried };
    } finally {
      run.child.stdin.end();
      await run.exited;
    }
  }

  it("shows the program's own path when nightshift is not on the PATH, and it finds this session", async () => {
    const env = { NIGHTSHIFT_STATE_DIR: freshStateDir(), PATH: '/usr/bin:/bin' };
    const { shown, port, tried } = await shownAndTried(env);
    expect(shown).toBe(`${process.execPath} ${BIN} join`);
    expect(tried).toMatch(new RegExp(`^ssh -p ${port} .*-o StrictHostKeyChecking=yes sentinel@127\\.0\\.0\\.1\\n$`));
  }, 60_000);

  it('shows nightshift join where that name on the PATH is this program', async () => {
    const bin = mkdtempSync(path.join(dir, 'bin-'));
    symlinkSync(BIN, path.join(bin, 'nightshift'));
    // The bin script's shebang finds node on the PATH: this test's.
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const env = { NIGHTSHIFT_STATE_DIR: freshStateDir(), PATH: `${bin}:/usr/bin:/bin` };
    const { shown, port, tried } = await shownAndTried(env);
    expect(shown).toBe('nightshift join');
    expect(tried).toMatch(new RegExp(`^ssh -p ${port} .*sentinel@127\\.0\\.0\\.1\\n$`));
  }, 60_000);

  describe.skipIf(!tmuxAvailable())('a helper at an 80x24 terminal', () => {
    let tmux: TmuxSession | undefined;
    afterEach(() => tmux?.kill());

    it('joins with nightshift join and the code, and reads /help whole, a command a line', async () => {
      const env = { NIGHTSHIFT_STATE_DIR: freshStateDir() };
      const run = converse(['run', '--plain', runbook], () => undefined, env);
      try {
        const code = / · code (\d{3}-\d{3}-\d{3}) · /.exec(await joinLineOf(run))?.[1];
        expect(code, run.lines.join('\n')).toBeDefined();
        tmux = TmuxSession.start([process.execPath, BIN, 'join'], { cwd: ROOT, env, cols: 80, rows: 24 });
        await tmux.waitFor(/Join code/, 20_000, 'the join code question');
        tmux.type(code!);
        tmux.keys('Enter');
        await tmux.waitFor(/the cable is moved/, 20_000, "the helper's screen");
        tmux.type('/help');
        tmux.keys('Enter');
        const screen = await tmux.waitFor(/\/quit leaves/, 10_000, 'the help');
        for (const help of [
          'Type and press Enter to chat.',
          '/ok confirms what is asked of you (/ok TEXT when it asks for text)',
          '/away 60 lunch',
          '/back',
          '/name YOUR NAME',
          'Tab or /output shows the output',
          '/quit leaves',
        ]) {
          expect(
            screen.split('\n').some((row) => row.trim() === help),
            `${help} on a line of its own, whole:\n${screen}`,
          ).toBe(true);
        }
      } finally {
        run.child.stdin.end();
        await run.exited;
      }
    }, 60_000);
  });
});
