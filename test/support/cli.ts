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
