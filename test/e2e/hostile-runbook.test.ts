// A runbook whose text tries to drive the terminal: a command that hides its `touch` behind
// an erase-line and a carriage return (so that it reads as `date`), names and titles that
// set the window title and the clipboard (OSC 0 and 52), a note with C1 controls and a bidi
// override, a checkpoint with concealed text. Every way nightshift shows it (lint, plan, run
// --plain, the full-screen view, sessions, the report) shows the touch, and no such
// sequence reaches the terminal: checked on the raw bytes written, not only on the screen.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

const RUNBOOK = String.raw`name: "Hostile \e]0;owned-title\a runbook"
phases:
  - name: show
    title: "Show \e]52;c;cHduZWQ=\a it"
    steps:
      - note: "Read \u202Eevil\u202C carefully \x9B2J \x85next"
      - title: "Harmless \e]0;owned-title\a\e]52;c;cHduZWQ=\a step"
        local: "touch TOUCHED # \e[2K\r\e[1Gdate"
        destructive: true
      - checkpoint: "Confirm \e[8mhidden\e[0m"
`;

/** The command as nightshift must show it: the touch, and the sequences as visible text. */
const SHOWN_COMMAND = 'touch TOUCHED # ^[[2K^M^[[1Gdate';

/** Bytes a terminal would act on: OSC (title, clipboard) in 7 and 8 bits, CSI in 8 bits, BEL, the bidi override. */
function actingSequences(bytes: Buffer | string): string[] {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  const found: string[] = [];
  for (const [name, pattern] of [
    ['OSC', /\x1b\]/],
    ['8-bit OSC', /\u009d/],
    ['8-bit CSI', /\u009b/],
    ['NEL', /\u0085/],
    ['BEL', /\x07/],
    ['RIGHT-TO-LEFT OVERRIDE', /\u202e/],
    ['erase line', /\x1b\[2K/],
    ['conceal', /\x1b\[8m/],
  ] as const) {
    if (pattern.test(text)) found.push(name);
  }
  return found;
}

/** The full-screen view's own title and bell (src/ui/attention.ts), which carry no text of the runbook's. */
function withoutOwnAttention(text: string): string {
  const titles = text.replace(/\x1b\]2;(nightshift|nightshift: waiting for you)\x07/g, '').replace(/\x1b\[2[23];2t/g, '');
  // A bell outside any OSC sequence is the call to the upgrader; one ending an OSC is not.
  return titles.replace(/\x07/g, (bell: string, at: number) => (titles.lastIndexOf('\x1b]', at) > titles.lastIndexOf('\x07', at - 1) ? bell : ''));
}

function nightshift(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('a runbook whose text tries to drive the terminal', () => {
  let dir: string;
  let runbook: string;
  let tmux: TmuxSession | undefined;
  const stateDirs: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-hostile-runbook-'));
    runbook = path.join(dir, 'hostile.yaml');
    writeFileSync(runbook, RUNBOOK);
  });
  afterEach(() => tmux?.kill());
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const stateDir of stateDirs) rmSync(stateDir, { recursive: true, force: true });
  });

  function stateDir(): string {
    const made = freshStateDir();
    stateDirs.push(made);
    return made;
  }

  it('lint warns at each text with such characters, and quotes text in its messages as visible text', () => {
    const linted = nightshift(['lint', runbook], {});
    expect(linted.status, linted.stderr).toBe(0);
    expect(actingSequences(linted.stdout)).toEqual([]);
    const warnings = linted.stdout.split('\n').filter((line) => line.includes('warning:'));
    expect(warnings.map((line) => line.split(': warning:')[0])).toEqual([
      `${runbook}:1:7`,
      `${runbook}:4:12`,
      `${runbook}:6:15`,
      `${runbook}:7:16`,
      `${runbook}:8:16`,
      `${runbook}:10:21`,
    ]);
    expect(warnings[2]).toContain('RIGHT-TO-LEFT OVERRIDE, U+202C, CSI, NEL');
    expect(warnings[4]).toContain('ESC, CR');

    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(broken, `${RUNBOOK}"bad\\e]0;owned-title\\akey": 1\n`);
    const refused = nightshift(['lint', broken], {});
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain(`${broken}:11:1: unknown key 'bad^[]0;owned-title^Gkey' in the runbook`);
    expect(actingSequences(refused.stdout)).toEqual([]);
  });

  it('plan shows the touch and every sequence as text; --json keeps the text as JSON escapes', () => {
    const planned = nightshift(['plan', runbook], {});
    expect(planned.status, planned.stderr).toBe(0);
    expect(actingSequences(planned.stdout)).toEqual([]);
    expect(planned.stdout).toContain(`$ ${SHOWN_COMMAND}`);
    expect(planned.stdout).toContain('Hostile ^[]0;owned-title^G runbook');
    expect(planned.stdout).toContain('Read <U+202E>evil<U+202C> carefully <U+009B>2J <U+0085>next');
    expect(planned.stdout).toContain('Confirm ^[[8mhidden^[[0m');

    const json = nightshift(['plan', '--json', runbook], {});
    expect(actingSequences(json.stdout)).toEqual([]);
    const plan = JSON.parse(json.stdout) as { phases: Array<{ steps: Array<{ command?: string; text?: string }> }> };
    expect(plan.phases[0]!.steps[1]!.command).toBe('touch TOUCHED # \x1b[2K\r\x1b[1Gdate');
    expect(plan.phases[0]!.steps[0]!.text).toBe('Read \u202eevil\u202c carefully \u009b2J \u0085next');
  });

  it.skipIf(!tmuxAvailable())(
    'run --plain in a terminal shows the touch and writes no sequence; sessions and the report neither',
    async () => {
      const env = { NIGHTSHIFT_STATE_DIR: stateDir() };
      tmux = TmuxSession.start([process.execPath, BIN, 'run', '--plain', '--no-helpers', runbook], { cwd: dir, env });
      const recording = await tmux.recordOutput();
      let screen = await tmux.waitFor(/Type "local" to run it/, 20_000, 'the approval prompt');
      expect(screen).toContain(SHOWN_COMMAND);
      expect(screen).toContain('i 1.1 Read <U+202E>evil<U+202C> carefully <U+009B>2J <U+0085>next');
      tmux.type('local');
      tmux.keys('Enter');
      screen = await tmux.waitFor(/Type yes to confirm/, 20_000, 'the checkpoint');
      expect(screen).toContain(`$ ${SHOWN_COMMAND}`);
      expect(screen).toContain('1.2 Harmless ^[]0;owned-title^G^[]52;c;cHduZWQ=^G step');
      expect(screen).toContain('1.3 Confirm ^[[8mhidden^[[0m');
      tmux.type('pause');
      tmux.keys('Enter');
      expect(await tmux.waitForExit(15_000)).toBe(4);
      await recording.stop();
      expect(actingSequences(Buffer.concat(recording.chunks.map((chunk) => chunk.data)))).toEqual([]);
      // What ran is what was written: the touch.
      expect(readdirSync(dir)).toContain('TOUCHED');

      const sessions = nightshift(['sessions'], env);
      expect(sessions.status).toBe(0);
      expect(actingSequences(sessions.stdout)).toEqual([]);
      expect(sessions.stdout).toMatch(/Hostile \^\[\]0;owned-title\^G runbook\s+paused\s+1\.3 Confirm \^\[\[8mhidden\^\[\[0m/);
      expect(actingSequences(nightshift(['sessions', '--json'], env).stdout)).toEqual([]);

      const reported = nightshift(['report'], env);
      expect(reported.status, reported.stderr).toBe(0);
      const markdown = readFileSync(reported.stdout.trim().split('\n')[1]!, 'utf8');
      expect(actingSequences(markdown)).toEqual([]);
      expect(markdown).toContain(SHOWN_COMMAND);
      const html = readFileSync(reported.stdout.trim().split('\n')[0]!, 'utf8');
      expect(actingSequences(html)).toEqual([]);
    },
    60_000,
  );

  it.skipIf(!tmuxAvailable())(
    'the full-screen view shows the touch, keeps its title, and writes no sequence',
    async () => {
      const env = { NIGHTSHIFT_STATE_DIR: stateDir() };
      tmux = TmuxSession.start([process.execPath, BIN, 'run', '--no-helpers', runbook], { cwd: dir, env });
      const titleBefore = tmux.title();
      const recording = await tmux.recordOutput();
      let screen = await tmux.waitFor(/Type "local" and press Enter/, 20_000, 'the approval prompt');
      expect(screen).toContain(SHOWN_COMMAND);
      expect(screen).toMatch(/^nightshift · Hostile \^\[\]0;owned-title\^G runbook/);
      tmux.type('local');
      tmux.keys('Enter');
      screen = await tmux.waitFor(/CHECKPOINT · 1\.3 Confirm \^\[\[8mhidden\^\[\[0m/, 20_000, 'the checkpoint, its concealed text shown');
      expect(screen).toContain('1 Show ^[]52;c;cHduZWQ=^G it');
      expect(screen).toContain('1.1 Read <U+202E>evil<U+202C>');
      tmux.keys('y');
      await tmux.waitFor(/The run completed/, 10_000);
      tmux.keys('q');
      expect(await tmux.waitForExit(10_000)).toBe(0);
      expect(tmux.title()).toBe(titleBefore);
      await recording.stop();
      // nightshift's own title (fixed words) and the bell that calls the upgrader are its own; nothing else acts.
      expect(actingSequences(withoutOwnAttention(Buffer.concat(recording.chunks.map((chunk) => chunk.data)).toString('utf8')))).toEqual([]);
    },
    60_000,
  );
});
