import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readJournal, type JournalEntry } from '../../src/store/journal.js';
import { describeWithChromium, openInChromium } from '../support/chromium.js';
import { BIN, converse, freshStateDir, ROOT, typedAnswer } from '../support/cli.js';
import { scratchFolders } from '../support/scratch-folder.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

const asciinemaInstalled = spawnSync('asciinema', ['--version']).status === 0;
if (!asciinemaInstalled) console.warn('\n*** asciinema is not installed: the cast is not played by it ***\n');

function nightshift(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Session {
  stateDir: string;
  id: string;
  dir: string;
  entries: JournalEntry[];
}

/** The wrong-route demo: a word to the site at the first question, a verification fails after the swap and the upgrader falls back. */
async function wrongRouteSession(): Promise<Session> {
  const stateDir = freshStateDir();
  let heldAnswer: string | undefined;
  let said = false;
  const run = converse(
    ['demo', '--plain', '--scenario', 'wrong-route'],
    (line) => {
      if (/Answer retry \| skip REASON \| fallback REASON \| pause/.test(line)) return 'fallback the routing table is <wrong>';
      if (heldAnswer !== undefined && /\): the cable is <labelled>$/.test(line)) {
        const answer = heldAnswer;
        heldAnswer = undefined;
        return answer;
      }
      const answer = typedAnswer(line);
      if (answer === undefined || said) return answer;
      said = true;
      heldAnswer = answer;
      return 'say the cable is <labelled>';
    },
    { NIGHTSHIFT_STATE_DIR: stateDir },
  );
  const code = await run.exited;
  expect(code, run.lines.join('\n') + run.stderr()).toBe(3);
  const [id] = readdirSync(path.join(stateDir, 'sessions'));
  const dir = path.join(stateDir, 'sessions', id!);
  return { stateDir, id: id!, dir, entries: readJournal(path.join(dir, 'journal.jsonl')) };
}

let session: Session;
let castFile: string;
let report: ReturnType<typeof nightshift>;

beforeAll(async () => {
  session = await wrongRouteSession();
  castFile = path.join(scratch('ns-cast-'), 'session.cast');
  report = nightshift(['report', '--cast', castFile], { NIGHTSHIFT_STATE_DIR: session.stateDir });
}, 120_000);

describe('nightshift report', () => {
  it('writes the latest session as HTML and Markdown beside its journal, and the cast when asked, printing the paths', () => {
    expect(report.code, report.stderr).toBe(0);
    const html = path.join(session.dir, 'report.html');
    const markdown = path.join(session.dir, 'report.md');
    expect(report.stdout.trim().split('\n')).toEqual([html, markdown, castFile]);
    const text = readFileSync(markdown, 'utf8');
    expect(text).toMatch(/^# Demo gateway swap/);
    expect(text).toContain('ended after the fallback');
    expect(text).toContain('the routing table is &lt;wrong&gt;');
    expect(text).toMatch(/\| root \(upgrader\) \| the cable is &lt;labelled&gt; \|/);
  });

  it('exports the output as asciicast v2 with times that only go forward', () => {
    const [headerLine, ...eventLines] = readFileSync(castFile, 'utf8').trimEnd().split('\n');
    const header = JSON.parse(headerLine!) as Record<string, unknown>;
    expect(header).toMatchObject({ version: 2, height: expect.any(Number), width: expect.any(Number), timestamp: expect.any(Number) });
    expect(header['title']).toContain(session.id);
    const events = eventLines.map((line) => JSON.parse(line) as [number, string, string]);
    const times = events.map((event) => event[0]);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(events.every((event) => event[1] === 'o')).toBe(true);
    const text = events.map((event) => event[2]).join('');
    const started = session.entries.filter((entry) => entry.type === 'step.started').length;
    expect(text.match(/, attempt \d+\x1b\[0m\r\n/g)).toHaveLength(started);
    expect(text).toContain('Outcome: ended after the fallback');
  });

  it.skipIf(!asciinemaInstalled)('asciinema itself reads the cast and prints the whole session', () => {
    // asciinema wants a terminal: util-linux script gives it one.
    const played = spawnSync('script', ['-q', '-e', '-c', `asciinema cat ${castFile}`, '/dev/null'], { encoding: 'utf8' });
    expect(played.status, played.stdout + played.stderr).toBe(0);
    const started = session.entries.filter((entry) => entry.type === 'step.started').length;
    expect(played.stdout.match(/, attempt \d+\x1b\[0m\r\n/g)).toHaveLength(started);
    expect(played.stdout).toContain('Outcome: ended after the fallback');
  });

  it('--output writes the page where it is told, the Markdown beside it; a session is found by a prefix of its ID', () => {
    const out = path.join(scratch('ns-report-'), 'night.html');
    const result = nightshift(['report', session.id.slice(0, 15), '--output', out], { NIGHTSHIFT_STATE_DIR: session.stateDir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${out}\n${out.replace(/\.html$/, '.md')}\n`);
    expect(readFileSync(out, 'utf8')).toContain(session.id);
    expect(existsSync(out.replace(/\.html$/, '.md'))).toBe(true);
  });

  it('shows the end of a log too large to read whole, says how much it left out, and warns of a torn journal line', () => {
    const stateDir = freshStateDir();
    const dir = path.join(stateDir, 'sessions', '20261129-030000-big1');
    mkdirSync(path.join(dir, 'output'), { recursive: true });
    const lines = Array.from({ length: 150_000 }, (_, index) => `line ${index + 1} ${'x'.repeat(20)}`);
    lines.push('\x1b]0;owned\x07<script>alert(1)</script>');
    writeFileSync(path.join(dir, 'output', 'restore-1.1.log'), `${lines.join('\n')}\n`);
    const at = (seconds: number) => new Date(Date.UTC(2026, 10, 29, 8, 0, seconds)).toISOString();
    const journal = [
      { seq: 1, at: at(0), type: 'run.started', session: '20261129-030000-big1', runbook: { name: 'Big', file: '/big.yaml', hash: 'ab' } },
      { seq: 2, at: at(1), type: 'step.started', stepId: 'restore-1', attempt: 1 },
      { seq: 3, at: at(9), type: 'output.closed', stepId: 'restore-1', attempt: 1, file: 'output/restore-1.1.log', bytes: 1, lines: lines.length },
      { seq: 4, at: at(9), type: 'step.finished', stepId: 'restore-1', status: 'done', exitCode: 0, durationMs: 8000 },
    ];
    writeFileSync(path.join(dir, 'journal.jsonl'), `${journal.map((entry) => JSON.stringify(entry)).join('\n')}\n{"seq":5,"at":"20`);

    const result = nightshift(['report'], { NIGHTSHIFT_STATE_DIR: stateDir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('last line (line 5) is incomplete');
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('last line (line 5) is incomplete');
    expect(html).toContain(`The first ${(lines.length - 2000).toLocaleString('en-US')} lines are left out; the full log is ${dir}/output/restore-1.1.log.`);
    expect(html).toContain(`<pre>line ${lines.length - 2000 + 1} x`);
    expect(html).not.toContain(`line ${lines.length - 2000} x`);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;</pre>');
    expect(html).not.toContain('owned');
  });

  it('says which sessions there are when the ID matches none', () => {
    const result = nightshift(['report', 'nosuchsession'], { NIGHTSHIFT_STATE_DIR: session.stateDir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('There is no session "nosuchsession"');
    expect(result.stderr).toContain(session.id);
  });
});

describeWithChromium('the report page in headless Chromium', () => {
  it('draws every step attempt, shows the confirmations and the failure, and loads nothing from anywhere', async () => {
    expect(report.code, report.stderr).toBe(0);
    const url = pathToFileURL(path.join(session.dir, 'report.html')).href;
    const page = await openInChromium(url);
    try {
      expect(page.requests).toEqual([url]);
      const resources = await page.evaluate<number>('document.querySelectorAll("script, link, img, iframe, object, embed, [src], [href]").length');
      expect(resources).toBe(0);

      const started = session.entries.filter((entry) => entry.type === 'step.started');
      const bars = await page.evaluate<{ step: string; attempt: string; classes: string }[]>(
        'Array.from(document.querySelectorAll(".step-bar"), (bar) => ({ step: bar.dataset.step, attempt: bar.dataset.attempt, classes: bar.getAttribute("class") }))',
      );
      expect(bars.map((bar) => `${bar.step}.${bar.attempt}`)).toEqual(started.map((entry) => `${entry['stepId']}.${entry['attempt']}`));
      const failed = session.entries.find((entry) => entry.type === 'step.finished' && entry['status'] === 'failed')!;
      expect(bars.filter((bar) => bar.classes.includes('failed')).map((bar) => bar.step)).toEqual([failed['stepId']]);
      const fallbackSteps = started.filter((entry) => String(entry['stepId']).startsWith('fallback-')).length;
      expect(fallbackSteps).toBeGreaterThan(0);
      expect(bars.filter((bar) => bar.classes.includes('fallback'))).toHaveLength(fallbackSteps);

      // Every confirmation in the journal is in the table, with who and whether it was relayed.
      const confirmed = session.entries.filter((entry) => entry.type === 'step.confirmed');
      const rows = await page.evaluate<string[]>('Array.from(document.querySelectorAll("table.confirmations tr.confirmed"), (row) => row.innerText)');
      expect(rows).toHaveLength(confirmed.length);
      for (const row of rows)
        expect(row).toMatch(/confirmed for the sentinel, relayed by root \(upgrader\)\tsentinel\troot\tyes\t\w{3} \d\d:\d\d:\d\d\t\w{3} \d\d:\d\d:\d\d/);

      const decisions = await page.evaluate<string>('document.querySelector("table.decisions").innerText');
      expect(decisions).toContain('fallback');
      expect(decisions).toContain('the routing table is <wrong>');
      // Both sites' clocks label the axis: each tick in New York time and in Taipei time (12 or 13 hours on).
      const ticks = await page.evaluate<string[][]>(
        'Array.from(document.querySelectorAll("svg.timeline .tick"), (tick) => Array.from(tick.querySelectorAll("text"), (text) => text.textContent))',
      );
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      for (const labels of ticks) {
        expect(labels).toHaveLength(2);
        const [upgraderHour, siteHour] = labels.map((label) => Number(/(\d\d):\d\d/.exec(label!)![1]));
        expect([12, 13]).toContain((siteHour! - upgraderHour! + 24) % 24);
      }
      // The chat, each message with both sites' clocks and who wrote it.
      const chatRows = await page.evaluate<string[]>('Array.from(document.querySelectorAll("#chat tr.chat-message"), (row) => row.innerText)');
      expect(chatRows).toHaveLength(1);
      expect(chatRows[0]).toMatch(/^\w{3} \d\d:\d\d:\d\d\t\w{3} \d\d:\d\d:\d\d\troot \(upgrader\)\tthe cable is <labelled>$/);

      // Outputs fold away; a long one shows its end and says where the rest is.
      const outputs = session.entries.filter((entry) => entry.type === 'output.closed' && Number(entry['bytes']) > 0).length;
      expect(await page.evaluate<number>('document.querySelectorAll("details.output").length')).toBe(outputs);
      const longest = session.entries
        .filter((entry) => entry.type === 'output.closed')
        .map((entry) => readFileSync(path.join(session.dir, String(entry['file'])), 'utf8').split('\n').length - 1)
        .reduce((max, lines) => Math.max(max, lines), 0);
      const notes = await page.evaluate<string[]>('Array.from(document.querySelectorAll("details.output .note"), (note) => note.textContent)');
      if (longest > 2000)
        expect(notes).toContainEqual(
          expect.stringMatching(new RegExp(`The first ${(longest - 2000).toLocaleString('en-US')} lines are left out; the full log is /`)),
        );
      else expect(notes).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
