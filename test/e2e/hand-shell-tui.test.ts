// A shell by hand (`!`) from the full-screen view, against the test sshd in a real terminal:
// the view gives the terminal to a login shell on the step's host (a pty of the terminal's
// size, following a resize), comes back when it exits or is cut off with Enter ~., and the
// session keeps what was done: the screen's log and cast, the journal's entries, the report.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { BIN, converse, freshStateDir, ROOT } from '../support/cli.js';
import { describeWithSshd } from '../support/sshd.js';
import { sshdTuiRuns } from '../support/sshd-tui-runs.js';
import { waitForValue } from '../support/wait-for.js';
import { bellsIn, TmuxSession, tmuxAvailable } from '../support/tmux.js';

describeWithSshd('a shell by hand from the full-screen view', () => {
  const runs = sshdTuiRuns('ns-hand-shell-', 'target', () => ({
    'by-hand.yaml': `name: By hand
hosts:
  target: {}
phases:
  - name: look
    steps:
      - title: Print the disk
        run: echo the disk is fine
        host: target
      - title: Something local
        local: echo here
      - checkpoint: Looked around by hand.
`,
    'slow.yaml': `name: Slow
hosts:
  target: {}
phases:
  - name: wait
    steps:
      - title: Sleep a while
        run: echo sleeping; sleep 4; echo slept
        host: target
      - checkpoint: Slept well.
`,
  }));
  const dir = runs.dir;
  const start = (stateDir: string, cols: number, rows: number, runbook = 'by-hand.yaml') =>
    runs.start(['run', path.join(dir, runbook)], { stateDir, cols, rows });
  const journalOf = (stateDir: string) => {
    const [session] = readdirSync(path.join(stateDir, 'sessions'));
    const sessionDir = path.join(stateDir, 'sessions', session!);
    const entries = readFileSync(path.join(sessionDir, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown> & { type: string });
    return { session: session!, sessionDir, entries };
  };

  it.skipIf(!tmuxAvailable())(
    'gives the terminal to a login shell on the host, comes back after exit, and records it in the session, the journal and the report',
    async () => {
      const stateDir = freshStateDir();
      const mark = path.join(dir, 'done-by-hand');
      const term = start(stateDir, 100, 30);
      await term.waitFor(/CHECKPOINT · 1\.3/, 20_000, 'the checkpoint');

      // Looking back at the step on the host; the shell is opened there.
      term.keys('k');
      await term.waitFor(/│1\.1 Print the disk \(on target\) +looking back/, 5000, 'the step looked back at');
      term.keys('!');
      await term.waitFor(/nightshift · a shell on target \(\S+@127\.0\.0\.1:\d+\); the run goes on meanwhile\./, 15_000, 'the shell taking the terminal');
      term.type(`stty size; echo by-hand-$((6*7)) > ${mark}; echo marker-$((40+2))`);
      term.keys('Enter');
      let screen = await term.waitFor(/^marker-42/m, 10_000, 'what the shell printed');
      expect(screen).toMatch(/^30 100$/m);
      term.resize(120, 35);
      term.type('stty size');
      term.keys('Enter');
      await term.waitFor(/^35 120$/m, 10_000, 'the new size');
      term.type('exit');
      term.keys('Enter');

      screen = await term.waitFor(/back from the shell on target: it exited 0 after/, 15_000, 'the view again');
      expect(screen).toMatch(/CHECKPOINT · 1\.3/);
      // The view is as it was left: still looking back at the same step.
      expect(screen).toMatch(/│1\.1 Print the disk \(on target\) +looking back/);
      expect(screen).toMatch(/^nightshift · By hand/);
      expect(readFileSync(mark, 'utf8')).toBe('by-hand-42\n');

      term.keys('y');
      await term.waitFor(/The run completed/, 20_000, 'the end of the run');
      term.keys('q');
      expect(await term.waitForExit(10_000)).toBe(0);

      const { session, sessionDir, entries } = journalOf(stateDir);
      const opened = entries.find((entry) => entry.type === 'shell.opened')!;
      const closed = entries.find((entry) => entry.type === 'shell.closed')!;
      expect(opened).toMatchObject({ host: 'target', file: 'shells/1-target.log', cast: 'shells/1-target.cast' });
      // The step on screen when it was opened.
      expect(entries.find((entry) => entry.type === 'step.started' && entry['stepId'] === opened['stepId'])).toBeDefined();
      expect(opened['stepId']).not.toBe(entries.filter((entry) => entry.type === 'step.started').at(-1)?.['stepId']);
      expect((opened['by'] as { role: string }).role).toBe('upgrader');
      expect(closed).toMatchObject({ host: 'target', exitCode: 0, cut: false });
      // Opened while the checkpoint was on screen, before it was confirmed.
      const confirmed = entries.findIndex((entry) => entry.type === 'step.confirmed');
      expect(entries.indexOf(closed)).toBeLessThan(confirmed);

      const log = readFileSync(path.join(sessionDir, 'shells/1-target.log'), 'utf8');
      expect(log).toContain('marker-42');
      const [header, ...events] = readFileSync(path.join(sessionDir, 'shells/1-target.cast'), 'utf8').trim().split('\n');
      expect(JSON.parse(header!)).toMatchObject({ version: 2, width: 100, height: 30 });
      const parsed = events.map((line) => JSON.parse(line) as [number, string, string]);
      expect(parsed.some(([, kind, text]) => kind === 'o' && text.includes('marker-42'))).toBe(true);
      expect(parsed).toContainEqual([expect.any(Number), 'r', '120x35']);
      const times = parsed.map(([time]) => time);
      expect(times).toEqual([...times].sort((a, b) => a - b));

      const report = converse(['report', session], () => undefined, { NIGHTSHIFT_STATE_DIR: stateDir });
      expect(await report.closed, report.stderr()).toBe(0);
      const markdown = readFileSync(report.lines.find((line) => line.endsWith('.md'))!, 'utf8');
      expect(markdown).toMatch(/shell on target opened by \S+/);
      expect(markdown).toContain('## Done by hand');
      expect(markdown).toContain('marker-42');
    },
    90_000,
  );

  it.skipIf(!tmuxAvailable())(
    'Enter ~. cuts off a shell that holds the terminal, and the view takes keys again',
    async () => {
      const stateDir = freshStateDir();
      const term = start(stateDir, 80, 24);
      await term.waitFor(/CHECKPOINT · 1\.3/, 20_000, 'the checkpoint');
      term.keys('!');
      // At its prompt: a shell cut off while its start-up files run may leave their locks behind.
      await term.waitFor(/nightshift · a shell on target \([\s\S]*[#$] *$/m, 15_000, "the shell's prompt");
      term.type('sleep 600');
      term.keys('Enter');
      await term.waitFor(/sleep 600\s*$/m, 10_000, 'the command under way');
      term.keys('Enter');
      term.type('~.');
      const screen = await term.waitFor(/back from the shell on target: cut off \(Enter ~\.\)/, 15_000, 'the view again');
      expect(screen).toMatch(/CHECKPOINT · 1\.3/);
      // The keys work again: the checkpoint is confirmed.
      term.keys('y');
      await term.waitFor(/The run completed/, 20_000, 'the end of the run');
      term.keys('q');
      expect(await term.waitForExit(10_000)).toBe(0);
      const { entries } = journalOf(stateDir);
      expect(entries.find((entry) => entry.type === 'shell.closed')).toMatchObject({ cut: true });
      expect(existsSync(path.join(journalOf(stateDir).sessionDir, 'shells/1-target.cast'))).toBe(true);
    },
    90_000,
  );

  it.skipIf(!tmuxAvailable())(
    "the demo's hosts give a shell too: ! at the destructive prompt, before typing, looks at the disk it names",
    async () => {
      const stateDir = freshStateDir();
      const term = runs.track(
        TmuxSession.start([process.execPath, BIN, 'demo', '--no-helpers'], { cwd: ROOT, env: { NIGHTSHIFT_STATE_DIR: stateDir }, cols: 100, rows: 30 }),
      );
      const asked = await term.waitFor(/DESTRUCTIVE · 2\.1/, 30_000, 'the destructive prompt');
      expect(asked).toContain('! shell (before typing)');
      term.keys('!');
      await term.waitFor(/^dolphin:demo#\s*$/m, 15_000, "dolphin's prompt");
      const screen = term.screen();
      // The view's frame is gone: the shell has the whole terminal.
      expect(screen).not.toContain('╭');
      expect(screen.split('\n')[0]).toMatch(/^nightshift · a shell on dolphin \(nightshift@127\.0\.0\.1:\d+\)/);
      term.type('sfdisk --dump disk0.img | head -1');
      term.keys('Enter');
      await term.waitFor(/^label: gpt$/m, 10_000, 'the table of the disk');
      term.keys('C-d');
      await term.waitFor(/back from the shell on dolphin: it exited 0/, 15_000, 'the view again');
      // The field took no "!": the target typed now runs the step.
      term.type('disk0.img');
      term.keys('Enter');
      await term.waitFor(/CHECKPOINT · 2\.2|DESTRUCTIVE · 2\.[2-9]|✓ 2\.1/, 20_000, 'the step run');
    },
    90_000,
  );

  it.skipIf(!tmuxAvailable())(
    'while the shell has the terminal the run goes on, and a checkpoint that starts waiting rings the bell',
    async () => {
      const term = start(freshStateDir(), 100, 30, 'slow.yaml');
      await term.waitFor(/│sleeping/, 20_000, 'the step under way');
      term.keys('!');
      await term.waitFor(/nightshift · a shell on target \(/, 15_000, 'the shell');
      const recording = await term.recordOutput();
      const rung = () => bellsIn(Buffer.concat(recording.chunks.map((chunk) => chunk.data)).toString('utf8'));
      await waitForValue(() => (rung() > 0 ? true : undefined), { what: 'the bell for the checkpoint', timeoutMs: 15_000 });
      await recording.stop();
      term.type('exit');
      term.keys('Enter');
      const screen = await term.waitFor(/CHECKPOINT · 1\.2/, 15_000, 'the checkpoint, once back');
      expect(screen).toMatch(/✓ 1\.1 Sleep a while/);
      term.keys('y');
      await term.waitFor(/The run completed/, 20_000, 'the end of the run');
      term.keys('q');
      expect(await term.waitForExit(10_000)).toBe(0);
    },
    90_000,
  );
});
