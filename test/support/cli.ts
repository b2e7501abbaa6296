// Runs the built binary the way a script would: stdout read line by line, answers written
// to stdin as prompts appear.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, onTestFinished } from 'vitest';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from './wait-for.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin/nightshift.js');

/** The flags that point nightshift at a suite's client files in `dir`: its ssh_config and known_hosts. */
export function clientFlags(dir: string): string[] {
  return ['--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', path.join(dir, 'known_hosts')];
}

/** State folders made in a beforeAll: removed when the test process ends. */
const madeOutsideTests = new Set<string>();
let removeAtExit = false;

/** A state folder of its own, removed after the test that made it (or when the test process ends). */
export function freshStateDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-state-'));
  try {
    onTestFinished(() => removeQuietly(dir));
    return dir;
  } catch {
    // Not in a test: made while the tests are collected (a describe's body), or in a beforeAll.
  }
  try {
    afterAll(() => removeQuietly(dir));
  } catch {
    madeOutsideTests.add(dir);
    if (!removeAtExit) {
      removeAtExit = true;
      process.once('exit', () => {
        for (const each of madeOutsideTests) removeQuietly(each);
      });
    }
  }
  return dir;
}

function removeQuietly(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // A program the test started may still be writing in it as it goes.
  }
}

export interface Conversation {
  lines: string[];
  /** Resolves with the exit code once the program has exited. */
  exited: Promise<number>;
  /** Resolves with the exit code once the program has exited and all its output is in `lines` and stderr(). */
  closed: Promise<number>;
  child: ChildProcessWithoutNullStreams;
  stderr(): string;
}

/**
 * Starts `nightshift args...`; `answer` sees every stdout line with the lines before it and
 * returns what to type, or undefined to type nothing.
 */
export function converse(
  args: string[],
  answer: (line: string, lines: string[]) => string | undefined,
  env: Record<string, string> = {},
  /** The program that is nightshift: the repo's bundle on its runtime, or an installed one. */
  launcher: readonly string[] = [process.execPath, BIN],
): Conversation {
  const [program, ...leading] = launcher;
  const child = spawn(program!, [...leading, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    const reply = answer(line, lines);
    if (reply !== undefined) child.stdin.write(`${reply}\n`);
  });
  const status = (code: number | null, signal: NodeJS.Signals | null) => code ?? 128 + (signal ? 15 : 0);
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(status(code, signal))));
  const closed = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(status(code, signal))));
  return { lines, exited, closed, child, stderr: () => stderr };
}

/** The text a plain-mode prompt asks to type: Type "X" → X, Type yes → yes. */
export function typedAnswer(line: string): string | undefined {
  const quoted = /Type ("(?:[^"\\]|\\.)*") to (run it|confirm)/.exec(line);
  if (quoted) return JSON.parse(quoted[1]!) as string;
  if (/Type yes to confirm/.test(line)) return 'yes';
  return undefined;
}

/** Resolves once a line matches `pattern`; fails with what was printed when none does in time. */
export async function waitForLine(run: Conversation, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => run.lines.some((line) => pattern.test(line)), {
    what: `a line matching ${pattern}`,
    timeoutMs,
    detail: () => `${run.lines.join('\n')}\n${run.stderr()}`,
  });
}

/** A seed for the random moments of a test: $NIGHTSHIFT_TEST_SEED to replay a failure, else a fresh one. */
export function testSeed(): number {
  const given = process.env['NIGHTSHIFT_TEST_SEED'];
  return given ? Number(given) : Math.floor(Math.random() * 2 ** 32);
}

/** mulberry32: a small seeded generator, so the same seed gives the same kill moments. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * kill -9 at a random moment, then `resume()`, up to `rounds` times or until the run ends by
 * itself. Each moment is counted from when the run is under way (a stdout line matching
 * `ready`, printed once the program has started and opened its session), so the kills land
 * in the run rather than in Node's start-up. The moments come from `seed` (logged, and
 * replayed with NIGHTSHIFT_TEST_SEED). Returns the last run and the moments of the kills.
 */
export async function killAndResume(
  first: Conversation,
  resume: () => Conversation,
  options: { rounds: number; minMs: number; maxMs: number; seed: number; ready?: RegExp },
): Promise<{ last: Conversation; kills: number[] }> {
  const ready = options.ready ?? /journal: /;
  const random = seededRandom(options.seed);
  console.log(`killAndResume: seed ${options.seed} (NIGHTSHIFT_TEST_SEED=${options.seed} replays these moments)`);
  let run = first;
  const kills: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const delay = options.minMs + Math.floor(random() * (options.maxMs - options.minMs));
    if (!(await lineOrExit(run, ready))) break;
    const ended = await Promise.race([run.exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), delay))]);
    if (ended) break;
    run.child.kill('SIGKILL');
    await run.exited;
    kills.push(delay);
    run = resume();
  }
  return { last: run, kills };
}

/** True once a line matches `pattern`; false when the program exits first. */
async function lineOrExit(run: Conversation, pattern: RegExp): Promise<boolean> {
  let exited = false;
  void run.exited.then(() => (exited = true));
  for (;;) {
    if (run.lines.some((line) => pattern.test(line))) return true;
    if (exited) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
