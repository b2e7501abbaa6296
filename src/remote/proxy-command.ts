// ProxyCommand: the command's stdin and stdout are the connection to the SSH server, as
// ssh(1) runs it (/bin/sh -c). Its stderr is kept for the error message; it is killed when
// the connection ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';
import { stripControls } from '../output/neutralize.js';
import type { ResolvedHost } from './types.js';

const STDERR_KEPT = 2000;

export class ProxyCommandTransport {
  readonly stream: Duplex;
  private readonly child: ChildProcess;
  private stderr = '';
  private closed = false;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private spawnError: Error | undefined;
  private killed = false;

  constructor(
    /** As given, tokens expanded. */
    readonly command: string,
    env?: NodeJS.ProcessEnv,
  ) {
    const child = (this.child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], ...(env ? { env } : {}) }));
    const stream = (this.stream = new Duplex({
      // The command's output ending is the connection's end: the stream closes, as a TCP
      // socket does, so that ssh2 tells its close (it waits for 'close', not 'end').
      allowHalfOpen: false,
      read: () => child.stdout?.resume(),
      write: (chunk: Buffer, _encoding, done) => {
        if (!child.stdin || child.stdin.destroyed) return done();
        child.stdin.write(chunk, () => done());
      },
      final: (done) => {
        child.stdin?.end();
        done();
      },
      destroy: (error, done) => {
        this.kill();
        done(error);
      },
    }));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (!stream.push(chunk)) child.stdout?.pause();
    });
    child.stdout?.on('end', () => stream.push(null));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_KEPT);
    });
    // The server side is gone once the command's stdin is: ssh2 sees a closed socket.
    child.stdin?.on('error', () => {});
    child.on('error', (error) => {
      this.spawnError = error;
      stream.destroy();
    });
    child.on('exit', (code, signal) => {
      this.exit = { code, signal };
    });
    child.on('close', () => (this.closed = true));
  }

  /** Ends the command (TERM); the connection over it is gone. */
  kill(): void {
    if (this.killed || this.exit !== undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.killed = true;
    this.child.kill('SIGTERM');
  }

  /** What became of the command, for an error message, when it ended by itself (not killed by us): undefined while it runs. */
  outcome(): string | undefined {
    if (this.spawnError) return `could not be started (${this.spawnError.message})`;
    // Ended by our TERM: the connection was closed, not lost to the command.
    if (!this.exit || (this.killed && this.exit.signal === 'SIGTERM')) return undefined;
    const how = this.exit.code !== null ? `exited with code ${this.exit.code}` : `was killed by ${this.exit.signal}`;
    // It may relay what a jump host said: one line, without control characters.
    const said = stripControls(this.stderr).trim();
    return said ? `${how}, saying: ${said}` : how;
  }

  /**
   * Resolves once the command has exited and what it wrote to stderr has been read (after
   * kill(), soon): 'exit' can come before the last of stderr under load, 'close' after it. A
   * command whose child keeps stderr open never closes it: callers bound the wait.
   */
  exited(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.child.once('close', () => resolve()));
  }
}

/** Expands %h %p %r %n %% as ssh does for ProxyCommand (`ssh -G` has usually done so already). */
export function expandProxyCommand(command: string, host: ResolvedHost): string {
  return command.replace(/%([%hpnr])/g, (_token, letter: string) => {
    switch (letter) {
      case 'h':
        return host.address;
      case 'p':
        return String(host.port);
      case 'r':
        return host.user;
      case 'n':
        return host.name;
      default:
        return '%';
    }
  });
}

/** ProxyCommand none means: connect directly. */
export function proxyCommandOf(host: ResolvedHost): string | undefined {
  const command = host.proxyCommand?.trim();
  if (!command || command.toLowerCase() === 'none') return undefined;
  return expandProxyCommand(command, host);
}
