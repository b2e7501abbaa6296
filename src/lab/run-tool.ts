// Runs the system tools both labs build themselves with (sfdisk, tar, debootstrap, qemu-img...),
// with sbin on the PATH and LANG=C. A failure names the tool and what it said.
import { spawn } from 'node:child_process';
import { DemoLabError } from './demo-lab-error.js';
import { LAB_PATH } from './preflight.js';

export interface ToolOptions {
  input?: string | Buffer;
  cwd?: string;
  /** Extra environment, over the minimal one. */
  env?: Record<string, string>;
  /** The error a failure becomes (default: the demo lab's). */
  fail?: (message: string) => Error;
}

export function runTool(command: string, args: string[], options: ToolOptions = {}): Promise<string> {
  const fail = options.fail ?? ((message: string) => new DemoLabError(`The demo lab: ${message}`));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { PATH: LAB_PATH, LANG: 'C', HOME: process.env['HOME'] ?? '/root', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    // Only the end of what it complains about is kept: a long build can say a lot.
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    child.once('error', (error) => reject(fail(`could not run ${command}: ${error.message}.`)));
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(fail(`\`${command} ${args.join(' ')}\` failed (exit ${code}): ${lastLines(stderr || stdout)}`));
    });
  });
}

function lastLines(text: string, count = 6): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}
