// What nightshift loads before it shows anything: ssh2, with the parts of Node it takes, is
// some 40 ms, and no first screen needs it (the helper channel and the logins come after).
// Watched in the built program through a --import hook that notes the first require of
// ssh2 and the first write of a given text to the terminal.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { shellQuote } from '../../src/runbook/shell-quote.js';
import { BIN, ROOT } from '../support/cli.js';
import { waitFor } from '../support/wait-for.js';

const HOOK = path.join(ROOT, 'test/support/load-watch.mjs');
interface Seen {
  ssh2At: number | null;
  markAt: number | null;
}

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'ns-start-loads-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const seenFile = () => path.join(work, 'seen.json');
const readSeen = (): Seen => JSON.parse(readFileSync(seenFile(), 'utf8'));
const hookEnv = (mark: string) => ({ ...process.env, LOAD_WATCH_FILE: seenFile(), LOAD_WATCH_MARK: mark, NIGHTSHIFT_STATE_DIR: path.join(work, 'state') });

test('a resume draws its first frame before ssh2 is loaded, and loads it after for the helper channel', async () => {
  const runbook = path.join(work, 'here.yaml');
  writeFileSync(runbook, 'name: Resume here\nphases:\n  - name: one\n    steps:\n      - local: echo printed; exit 3\n        title: Print and fail\n');
  try {
    execFileSync(process.execPath, [BIN, 'run', runbook, '--plain'], { input: 'pause\n', env: hookEnv(''), stdio: ['pipe', 'ignore', 'ignore'] });
  } catch (error) {
    expect((error as { status?: number }).status).toBe(4);
  }
  rmSync(seenFile(), { force: true });
  // On a terminal of its own, as a user resumes it (util-linux script makes the pty).
  const command = `stty cols 120 rows 40; exec ${shellQuote(process.execPath)} --import ${shellQuote(HOOK)} ${shellQuote(BIN)} resume`;
  const env: NodeJS.ProcessEnv = { ...hookEnv('Resume here'), TERM: 'xterm-256color' };
  // Ink draws nothing until exit when it believes it runs in CI.
  delete env['CI'];
  const resume = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: 'pipe' });
  resume.stdout.resume();
  try {
    await waitFor(() => existsSync(seenFile()) && readSeen().markAt !== null && readSeen().ssh2At !== null, {
      what: 'the first frame and the load of ssh2',
      timeoutMs: 20_000,
      detail: () => (existsSync(seenFile()) ? readFileSync(seenFile(), 'utf8') : 'nothing seen'),
    });
  } finally {
    resume.kill('SIGKILL');
  }
  const seen = readSeen();
  expect(seen.ssh2At!).toBeGreaterThan(seen.markAt!);
});

test('lint never loads ssh2', () => {
  execFileSync(process.execPath, ['--import', HOOK, BIN, 'lint', path.join(ROOT, 'runbooks/gateway-swap.yaml')], { env: hookEnv('ok'), stdio: 'ignore' });
  const seen = readSeen();
  expect(seen.markAt).not.toBeNull();
  expect(seen.ssh2At).toBeNull();
});

// V8 prints the factor it lets the old generation grow by at each full collection
// (--trace-gc-verbose); --gc-global makes every collection a full one.
const growthFactors = (args: string[]): string[] => {
  const out = execFileSync(process.execPath, ['--gc-global', '--trace-gc-verbose', BIN, ...args], {
    env: { ...process.env, NIGHTSHIFT_STATE_DIR: path.join(work, 'state') },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  return [...out.matchAll(/\[HeapController\] factor ([0-9.]+)/g)].map((match) => match[1]!);
};

test('the old generation is held near what is alive once a run is under way, not while the bundle loads', () => {
  const lint = growthFactors(['lint', path.join(ROOT, 'runbooks/gateway-swap.yaml')]);
  expect(lint.length).toBeGreaterThan(0);
  expect(lint).not.toContain('1.2');
  const runbook = path.join(work, 'count.yaml');
  writeFileSync(runbook, 'name: Count\nphases:\n  - name: one\n    steps:\n      - local: seq 1 100000\n        title: Count\n');
  const run = growthFactors(['run', '--plain', runbook]);
  expect(run[0]).not.toBe('1.2');
  expect(run.at(-1)).toBe('1.2');
});
