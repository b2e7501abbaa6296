// `nightshift sessions` on a small terminal, and `sessions rm` discarding a session: asked
// first on a terminal, refused in a script without --yes, refused while the session is open.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, converse, freshStateDir, ROOT } from '../support/cli.js';
import { TmuxSession } from '../support/tmux.js';
import { waitFor } from '../support/wait-for.js';

const RUNBOOK = [
  'name: Overnight swap of the office gateway, rehearsed',
  'sites:',
  '  upgrader: { name: Massachusetts office, tz: America/New_York }',
  '  site: { name: Taipei office, tz: Asia/Taipei }',
  'phases:',
  '  - name: prepare',
  '    steps:',
  '      - local: echo ready',
  '      - checkpoint: the new disk is in the machine',
  '',
].join('\n');

describe('nightshift sessions', () => {
  let dir = '';
  let runbook = '';
  let tmux: TmuxSession | undefined;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-sessions-'));
    runbook = path.join(dir, 'swap.yaml');
    writeFileSync(runbook, RUNBOOK);
  });
  afterEach(() => tmux?.kill());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A session paused at its checkpoint: plain mode whose input ends there. */
  async function pausedSession(env: Record<string, string>): Promise<string> {
    const run = converse(['run', '--plain', '--no-helpers', runbook], () => undefined, env);
    run.child.stdin.end();
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(4);
    const id = /to go on: .+ resume (\S+)/.exec(run.stderr())?.[1];
    expect(id, run.stderr()).toBeDefined();
    return id!;
  }

  function list(env: Record<string, string>, ...args: string[]) {
    const run = converse(['sessions', ...args], () => undefined, env);
    return run.exited.then((code) => ({ code, text: run.lines.join('\n') + run.stderr() }));
  }

  it('fits an 80-column terminal, a session a few lines each, and is a table where there is room', async () => {
    const env = { NIGHTSHIFT_STATE_DIR: freshStateDir() };
    const id = await pausedSession(env);
    tmux = TmuxSession.start([process.execPath, BIN, 'sessions'], { cwd: ROOT, env, cols: 80, rows: 40 });
    expect(await tmux.waitForExit(20_000)).toBe(0);
    const narrow = tmux.transcript();
    expect(narrow).not.toContain('RUNBOOK');
    expect(narrow).toMatch(new RegExp(`^${id}  paused$`, 'm'));
    expect(narrow).toMatch(/^ {2}Overnight swap of the office gateway, rehearsed$/m);
    expect(narrow).toMatch(/^ {2}at 1\.2 the new disk is in the machine$/m);
    expect(narrow).toMatch(/^ {2}since \w{3} \d\d:\d\d Massachusetts office \/ \w{3} \d\d:\d\d Taipei office$/m);
    expect(narrow).toMatch(/^To go on \(without ID: the latest paused or interrupted\):$/m);
    // The command on a line of its own, as it can be typed here (the terminal may wrap a long path).
    expect(tmux.unwrappedTranscript().split('\n')).toContain(`  ${process.execPath} ${BIN} resume ID`);
    tmux.kill();

    tmux = TmuxSession.start([process.execPath, BIN, 'sessions'], { cwd: ROOT, env, cols: 200, rows: 24 });
    expect(await tmux.waitForExit(20_000)).toBe(0);
    const wide = tmux.transcript();
    expect(wide).toMatch(/^ID +RUNBOOK +STATE +STEP +SINCE$/m);
    expect(wide).toMatch(new RegExp(`^${id}  Overnight swap of the office gateway, rehearsed  paused  1\\.2 the new disk is in the machine  \\w{3} `, 'm'));
  }, 60_000);

  it('rm asks on the terminal, keeps the session unless told yes, and then resume cannot pick it', async () => {
    const env = { NIGHTSHIFT_STATE_DIR: freshStateDir() };
    const kept = await pausedSession(env);
    const demo = await pausedSession(env);
    const folder = path.join(env.NIGHTSHIFT_STATE_DIR, 'sessions', demo);

    tmux = TmuxSession.start([process.execPath, BIN, 'sessions', 'rm', demo], { cwd: ROOT, env, cols: 80, rows: 24 });
    await tmux.waitFor(/Remove it\? Type yes to remove it, anything else keeps it:/, 20_000, 'the question');
    expect(tmux.screen()).toContain(
      [`${demo}  paused`, '  Overnight swap of the office gateway, rehearsed', '  at 1.2 the new disk is in the machine'].join('\n'),
    );
    expect(tmux.screen()).toContain('its journal, output logs and reports.\nIt can no longer be resumed; what it did on the hosts stays.\n');
    tmux.type('no');
    tmux.keys('Enter');
    expect(await tmux.waitForExit(10_000)).toBe(1);
    expect(tmux.screen()).toContain('Kept.');
    expect(existsSync(folder)).toBe(true);
    tmux.kill();

    tmux = TmuxSession.start([process.execPath, BIN, 'sessions', 'rm', demo.slice(0, -2)], { cwd: ROOT, env, cols: 80, rows: 24 });
    await tmux.waitFor(/Type yes to remove it/, 20_000, 'the question');
    tmux.type('yes');
    tmux.keys('Enter');
    expect(await tmux.waitForExit(10_000)).toBe(0);
    expect(tmux.screen()).toContain(`Removed session ${demo}.`);
    expect(existsSync(folder)).toBe(false);

    const listing = await list(env, '--json');
    expect((JSON.parse(listing.text) as { id: string }[]).map((session) => session.id)).toEqual([kept]);
  }, 90_000);

  it('rm in a script needs --yes, and never removes a session that is open', async () => {
    const env = { NIGHTSHIFT_STATE_DIR: freshStateDir() };
    const paused = await pausedSession(env);
    const unasked = converse(['sessions', 'rm', paused], () => undefined, env);
    unasked.child.stdin.end();
    expect(await unasked.exited).toBe(1);
    expect(unasked.stderr()).toContain('nightshift sessions rm: not removed: confirm on a terminal, or with --yes.');
    expect(existsSync(path.join(env.NIGHTSHIFT_STATE_DIR, 'sessions', paused))).toBe(true);

    // A run waiting at its checkpoint, input still open: its session is open in that nightshift.
    const open = converse(['run', '--plain', '--no-helpers', runbook], () => undefined, env);
    try {
      await waitFor(() => open.lines.some((line) => line.includes('Type yes to confirm')), { what: 'the checkpoint question', timeoutMs: 20_000 });
      const ids = (JSON.parse((await list(env, '--json')).text) as { id: string; state: string }[]).filter((session) => session.state === 'running');
      expect(ids).toHaveLength(1);
      const refused = await list(env, 'rm', ids[0]!.id, '--yes');
      expect(refused.code).toBe(1);
      expect(refused.text).toMatch(new RegExp(`session ${ids[0]!.id} is open in nightshift \\(pid ${open.child.pid} on `));
      expect(existsSync(path.join(env.NIGHTSHIFT_STATE_DIR, 'sessions', ids[0]!.id, 'journal.jsonl'))).toBe(true);
    } finally {
      open.child.kill('SIGTERM');
      await open.exited;
    }

    const removed = await list(env, 'rm', paused, '--yes');
    expect(removed.code, removed.text).toBe(0);
    expect(existsSync(path.join(env.NIGHTSHIFT_STATE_DIR, 'sessions', paused))).toBe(false);
  }, 90_000);
});
