// A real ssh-agent on a socket of our own, in the foreground (-D) so that the test owns the
// process and stops it by its id.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export class SshAgent {
  private constructor(
    readonly socket: string,
    private readonly process: ChildProcess,
  ) {}

  /** Starts `ssh-agent -D -a <dir>/agent.sock`; `dir` must exist and be short enough for a socket path. */
  static async start(dir: string): Promise<SshAgent> {
    const socket = path.join(dir, 'agent.sock');
    const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`ssh-agent exited at start-up: ${output}`);
        return existsSync(socket);
      },
      { what: `ssh-agent to create ${socket}`, timeoutMs: 5000, intervalMs: 20, detail: () => output },
    );
    return new SshAgent(socket, child);
  }

  /** ssh-add for an unencrypted key file. */
  async add(privateKeyFile: string): Promise<void> {
    await run('ssh-add', ['-q', privateKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: this.socket } });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.kill('SIGTERM');
    await exited;
  }
}
