import { spawn } from 'node:child_process';
import { DemoLabError } from './demo-lab-error.js';
import { LAB_PATH } from './preflight.js';

/** Runs a system tool the lab needs to build itself; failure is a DemoLabError naming the tool. */
export function runTool(tool: string, args: string[], options: { input?: string; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, {
      cwd: options.cwd,
      env: { PATH: LAB_PATH, LANG: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    child.once('error', (error) => reject(new DemoLabError(`The demo lab could not run ${tool}: ${error.message}.`)));
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new DemoLabError(`The demo lab's \`${tool} ${args.join(' ')}\` failed: ${stderr.trim() || `exit status ${code}`}.`));
    });
  });
}
