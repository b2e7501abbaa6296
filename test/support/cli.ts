// Runs the built binary the way a script would: stdout read line by line, answers written
// to stdin as prompts appear.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin/nightshift.js');

export function freshStateDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'ns-state-'));
}

export interface Conversation {
  lines: string[];
  /** Resolves with the exit code once the program has exited. */
  exited: Promise<number>;
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
): Conversation {
  const child = spawn(process.execPath, [BIN, ...args], {
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
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? 15 : 0))));
  return { lines, exited, child, stderr: () => stderr };
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
  const deadline = Date.now() + timeoutMs;
  while (!run.lines.some((line) => pattern.test(line))) {
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} in:\n${run.lines.join('\n')}\n${run.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * kill -9 at a random moment (between `minMs` and `maxMs`), then `resume()`, up to `rounds`
 * times or until the run ends by itself. Returns the last run and the moments of the kills.
 */
export async function killAndResume(
  first: Conversation,
  resume: () => Conversation,
  options: { rounds: number; minMs: number; maxMs: number },
): Promise<{ last: Conversation; kills: number[] }> {
  let run = first;
  const kills: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const delay = options.minMs + Math.floor(Math.random() * (options.maxMs - options.minMs));
    const ended = await Promise.race([run.exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), delay))]);
    if (ended) break;
    run.child.kill('SIGKILL');
    await run.exited;
    kills.push(delay);
    run = resume();
  }
  return { last: run, kills };
}
