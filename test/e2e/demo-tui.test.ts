import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/runbook/duration.js';
import { readJournal } from '../../src/store/journal.js';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';
import { waitFor } from '../support/wait-for.js';

if (!tmuxAvailable()) console.warn('\n*** tmux is not installed: the end-to-end tests cannot run (apt-get install tmux) ***\n');

function journalOf(stateDir: string) {
  const sessions = path.join(stateDir, 'sessions');
  return readJournal(path.join(sessions, readdirSync(sessions)[0]!, 'journal.jsonl'));
}

/**
 * The frame fills a `cols` x `rows` terminal exactly: the side-by-side panels' top borders
 * and the prompt's box span the width, and the status bar is the last row, its last
 * element ending at the last column.
 */
function frameFits(screen: string, cols: number, rows: number): boolean {
  const lines = screen
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => line.trimEnd());
  const width = (line: string) => [...line].length;
  const panelsTop = lines[1] ?? '';
  const statusBar = lines[rows - 1] ?? '';
  return (
    lines.length === rows &&
    /^╭─+╮╭─+╮$/.test(panelsTop) &&
    width(panelsTop) === cols &&
    lines[rows - 2] === `╰${'─'.repeat(cols - 2)}╯` &&
    lines.includes(`╭${'─'.repeat(cols - 2)}╮`) &&
    statusBar.endsWith('? keys') &&
    width(statusBar) === cols
  );
}

/** HH:MM and the short weekday in a zone, as a person there reads the clock. */
function wallClock(tz: string, at: number): string {
  const part = (options: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat('en-GB', { timeZone: tz, ...options }).format(at);
  return `${part({ weekday: 'short' })} ${part({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })}`;
}

const HOST_MARKS: Record<string, string> = { connected: '●', idle: '○' };

/**
 * What the status bar and the runbook panel say matches the run: the session id, each
 * host's last journaled connection state by its mark, both sites' names with their clocks,
 * and the duration of every finished step.
 */
function showsRunState(screen: string, journal: ReturnType<typeof journalOf>, seenAt: number): void {
  const lines = screen.replace(/\n$/, '').split('\n');
  const statusBar = lines.at(-1)!;
  const started = journal.find((entry) => entry.type === 'run.started')!;
  expect(statusBar.startsWith(`${String(started['session'])}  `)).toBe(true);

  const hostStates = new Map<string, string>(['dragon', 'dolphin', 'elephant'].map((host) => [host, 'idle']));
  for (const entry of journal) if (entry.type === 'host.state') hostStates.set(String(entry['host']), String(entry['state']));
  expect([...hostStates.values()]).toContain('connected');
  const hosts = [...hostStates].map(([host, state]) => `${HOST_MARKS[state] ?? '?'} ${host}`).join('  ');
  expect(statusBar).toContain(`  ${hosts}  `);

  // The screen was drawn at most a second before it was read: the clock shows that minute or the one before.
  const clocks = (at: number) => `Massachusetts office ${wallClock('America/New_York', at)}  Taipei office ${wallClock('Asia/Taipei', at)}  ? keys`;
  expect([clocks(seenAt), clocks(seenAt - 1500)]).toContain(statusBar.slice(-clocks(seenAt).length));

  const numbers = new Map((started['steps'] as { id: string; number: string }[]).map((step) => [step.id, step.number]));
  const finished = journal.filter((entry) => entry.type === 'step.finished' && entry['status'] === 'done');
  expect(finished.length).toBeGreaterThanOrEqual(3);
  for (const entry of finished) {
    const number = numbers.get(String(entry['stepId']))!.replace('.', '\\.');
    expect(screen).toMatch(new RegExp(`│ ✓ ${number} [^\\n│]* ${formatDuration(entry['durationMs'] as number)}│`));
  }
}

/** A prompt is read only when its heading and what it asks are both on screen. */
const PROMPT = /(?:DESTRUCTIVE|CHECKPOINT) · [^\n]*[\s\S]*?(?:Type "([^"]+)" and press Enter|y confirm)/;

/** Answers destructive steps and checkpoints as asked until `end` shows; a failure is an error unless `onFailure` handles it. */
async function answerPrompts(term: TmuxSession, end: RegExp, onFailure?: (screen: string) => Promise<void>): Promise<{ screen: string; answered: number }> {
  const deadline = Date.now() + 60_000;
  let answered = 0;
  for (;;) {
    const screen = await term.waitFor((s) => PROMPT.test(s) || end.test(s) || /FAILED ·/.test(s), Math.max(1000, deadline - Date.now()), 'a prompt or the end');
    if (end.test(screen)) return { screen, answered };
    if (/FAILED ·/.test(screen)) {
      if (!onFailure) throw new Error(`a demo step failed:\n${screen}`);
      await onFailure(screen);
      continue;
    }
    const match = PROMPT.exec(screen)!;
    const asked = match[0].split('\n')[0]!;
    if (match[1] !== undefined) {
      term.type(match[1]);
      term.keys('Enter');
    } else term.keys('y');
    answered++;
    await term.waitFor((s) => !s.includes(asked), 10_000, `the prompt "${asked}" to be answered`);
  }
}

describe.skipIf(!tmuxAvailable())('nightshift demo in a real terminal, driven by keys', () => {
  let tmux: TmuxSession | undefined;
  afterEach(() => tmux?.kill());

  it('runs to the end: typed confirmations, a refused one, help, resizing', async () => {
    const stateDir = freshStateDir();
    tmux = TmuxSession.start([process.execPath, BIN, 'demo'], { cwd: ROOT, env: { NIGHTSHIFT_STATE_DIR: stateDir } });
    const term = tmux;

    // The full-screen view: runbook, status bar with hosts and both sites' clocks.
    let screen = await term.waitFor(/DESTRUCTIVE/, 20_000, 'the first destructive step');
    const seenAt = Date.now();
    expect(screen).toMatch(/nightshift · /);
    showsRunState(screen, journalOf(stateDir), seenAt);

    // A wrong text is refused on screen and nothing runs.
    const expected = /Type "([^"]+)" and press Enter to run it/.exec(screen)![1]!;
    term.type('wrong');
    term.keys('Enter');
    await term.waitFor(/not accepted: the typed text does not match/, 5000);

    term.keys('?');
    await term.waitFor(/Keys · /, 5000, 'the key list');
    term.keys('?');
    await term.waitFor((s) => !/Keys · /.test(s), 5000, 'the key list to close');

    // Resizing lays the whole frame out again: narrower and shorter, then wider and taller
    // than at the start. A frame left as it was would be cut at the edge or not reach it.
    // (The first frame after a resize may still be laid out with the old panel height.)
    const promptIntact = (s: string) => /│ DESTRUCTIVE · 2\.1 /.test(s) && s.includes(`│ Type "${expected}" and press Enter to run it.`);
    term.resize(100, 30);
    await term.waitFor((s) => frameFits(s, 100, 30) && promptIntact(s), 5000, 'the frame laid out at 100x30');
    term.resize(140, 40);
    await term.waitFor((s) => frameFits(s, 140, 40) && promptIntact(s), 5000, 'the frame laid out at 140x40');

    term.type(expected);
    term.keys('Enter');

    // From here on: answer whatever is asked, the way a person reads the screen.
    const { screen: end, answered } = await answerPrompts(term, /The run completed/);
    screen = end;
    expect(answered).toBeGreaterThan(0);
    expect(screen).toMatch(/✓/);
    term.keys('q');
    expect(await term.waitForExit(10_000)).toBe(0);

    const journal = journalOf(stateDir);
    expect(journal.find((entry) => entry.type === 'run.finished')).toMatchObject({ outcome: 'completed' });
    expect(journal.filter((entry) => entry.type === 'step.refused')).toHaveLength(1);
  }, 120_000);

  it('wrong route: the failure prompt retries, then falls back with a reason, and the run ends on the old system', async () => {
    const stateDir = freshStateDir();
    tmux = TmuxSession.start([process.execPath, BIN, 'demo', '--scenario', 'wrong-route'], {
      cwd: ROOT,
      env: { NIGHTSHIFT_STATE_DIR: stateDir },
    });
    const term = tmux;
    let failures = 0;
    const { screen } = await answerPrompts(term, /The run ended after the fallback/, async (failed) => {
      failures++;
      expect(failed).toMatch(/FAILED · 9\.3 .*: exited with status 1/);
      expect(failed).toMatch(/r retry · s skip \(with a reason\) · f fall back \(with a reason\) · p pause/);
      if (failures === 1) {
        term.keys('r');
        // The retry fails the same way at once: wait for the journal to have it, not the screen.
        await waitFor(() => journalOf(stateDir).filter((e) => e.type === 'step.finished' && e['status'] === 'failed').length === 2, { timeoutMs: 5000 });
        return;
      }
      term.keys('f');
      await term.waitFor(/Why fall back\? \(journaled\)/, 5000, 'the reason prompt');
      term.type('the default route goes to Massachusetts');
      term.keys('Enter');
      await term.waitFor(/FALLBACK/, 5000, 'the fallback to start');
    });
    expect(failures).toBe(2);
    expect(screen).toMatch(/nightshift · .* · FALLBACK/);
    term.keys('q');
    expect(await term.waitForExit(10_000)).toBe(3);

    const journal = journalOf(stateDir);
    expect(journal.filter((entry) => entry.type === 'decision').map((entry) => entry['action'])).toEqual(['retry', 'fallback']);
    expect(journal).toContainEqual(expect.objectContaining({ type: 'fallback.started', reason: 'the default route goes to Massachusetts' }));
    expect(journal.find((entry) => entry.type === 'run.finished')).toMatchObject({ outcome: 'fell-back' });
  }, 120_000);
});
