// Runs the system tools the rehearsal lab is built from. Failures name the tool and what it said.
import { spawn } from 'node:child_process';
import { LAB_PATH } from '../preflight.js';
import { LabError } from './lab-error.js';

export interface ToolOptions {
  input?: string | Buffer;
  cwd?: string;
  /** Extra environment, over a minimal one (PATH with sbin, LANG=C). */
  env?: Record<string, string>;
  /** Called with each chunk of stderr and stdout, for long builds that should show progress. */
  onOutput?: (text: string) => void;
}

export function tool(command: string, args: string[], options: ToolOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { PATH: LAB_PATH, LANG: 'C', HOME: process.env['HOME'] ?? '/root', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onOutput?.(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
      options.onOutput?.(chunk);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    child.once('error', (error) => reject(new LabError(`The lab could not run ${command}: ${error.message}.`)));
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new LabError(`\`${command} ${args.join(' ')}\` failed (exit ${code}): ${lastLines(stderr || stdout)}`));
    });
  });
}

/** A shell script run with sh -e; its text is the argument, never interpolated into a command line. */
export function script(text: string, options: ToolOptions = {}): Promise<string> {
  return tool('sh', ['-ec', text], options);
}

function lastLines(text: string, count = 6): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}
