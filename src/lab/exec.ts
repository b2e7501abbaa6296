// One `exec` request: /bin/sh -c in the host's sandbox, in its own process group so that
// a closed channel or a signal request reaches everything the command started.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import type { ServerChannel } from 'ssh2';
import { LAB_PATH } from './preflight.js';

export interface Sandbox {
  hostName: string;
  root: string;
}

/** Signals a client may send with a `signal` request. */
const FORWARDED_SIGNALS = new Set(['TERM', 'KILL', 'INT', 'HUP']);
/** Between TERM and KILL when the client goes away while the command runs. */
const KILL_GRACE_MS = 2000;

function sandboxEnv(sandbox: Sandbox): NodeJS.ProcessEnv {
  return {
    PATH: LAB_PATH,
    HOME: sandbox.root,
    PWD: sandbox.root,
    LANG: 'C',
    HOSTNAME: sandbox.hostName,
    SHELL: '/bin/sh',
  };
}

export class RunningCommand {
  readonly #child: ChildProcess;
  readonly #channel: ServerChannel;
  /** The shell has exited and its output pipes are closed: the status is known. */
  #exited = false;
  /** The shell has exited; something it started may still hold the output pipes. */
  #shellExited = false;
  /** Nobody wants the output any more: once the shell is gone, stop waiting for the pipes. */
  #abandoned = false;
  #channelClosed = false;
  readonly #whenChannelCloses: Promise<void>;
  readonly #done: Promise<void>;

  /** `term`: a shell on a pty (the TERM it was asked with). */
  constructor(channel: ServerChannel, command: string, sandbox: Sandbox, term?: string) {
    this.#channel = channel;
    this.#whenChannelCloses = new Promise((resolve) => channel.once('close', resolve));
    channel.on('error', () => {});
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: sandbox.root,
      env: { ...sandboxEnv(sandbox), ...(term ? { TERM: term.replace(/[^\w.+-]/g, '') || 'xterm' } : {}) },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    const [stdin, stdout, stderr] = [child.stdin!, child.stdout!, child.stderr!];

    this.#done = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.#exited) return;
        this.#exited = true;
        void this.#sendExit(code, signal).then(resolve);
      };
      child.once('close', finish);
      child.once('exit', () => {
        this.#shellExited = true;
        if (this.#abandoned) this.#releasePipes();
      });
      child.once('error', (error) => {
        if (child.pid !== undefined) return; // it started: 'close' follows with the real status
        if (!this.#channelClosed) channel.stderr.write(`demo lab: cannot start /bin/sh: ${error.message}\n`);
        finish(127, null);
      });
    });

    stdin.on('error', () => {}); // the command may exit without reading all its input
    channel.pipe(stdin);
    stdout.pipe(channel, { end: false });
    stderr.pipe(channel.stderr, { end: false });

    channel.once('close', () => {
      this.#channelClosed = true;
      if (this.#exited) return;
      stdout.unpipe(channel);
      stderr.unpipe(channel.stderr);
      stdout.resume();
      stderr.resume();
      this.terminate();
    });
  }

  #releasePipes(): void {
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
  }

  #abandon(): void {
    this.#abandoned = true;
    if (this.#shellExited) this.#releasePipes();
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return !this.#exited;
  }

  /** Resolves once the command has exited and its status has been sent (or the channel is gone). */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Handles a `signal` request; false when the name is not one the lab forwards. */
  forwardSignal(name: string): boolean {
    const bare = name.toUpperCase().replace(/^SIG/, '');
    if (!FORWARDED_SIGNALS.has(bare)) return false;
    this.#signalGroup(`SIG${bare}` as NodeJS.Signals);
    return true;
  }

  /** TERM now, KILL after a grace period if the command is still there. */
  terminate(): void {
    this.#abandon();
    this.#signalGroup('SIGTERM');
    const timer = setTimeout(() => this.#signalGroup('SIGKILL'), KILL_GRACE_MS);
    timer.unref();
    void this.#done.then(() => clearTimeout(timer));
  }

  kill(): void {
    this.#abandon();
    this.#signalGroup('SIGKILL');
  }

  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    // After 'close' the group may be gone and its id taken by an unrelated process.
    if (pid === undefined || this.#exited) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  }

  /** Sends the exit status after the output written before it, then closes the channel. */
  async #sendExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const channel = this.#channel;
    await Promise.race([Promise.all([flushed(channel), flushed(channel.stderr)]), this.#whenChannelCloses]);
    if (this.#channelClosed) return;
    if (code !== null) {
      channel.exit(code);
    } else {
      const name = signal ?? 'SIGKILL';
      try {
        channel.exit(name.replace(/^SIG/, ''), false, '');
      } catch {
        // A signal SSH has no name for: report it the way a shell would.
        channel.exit(128 + (constants.signals[name] ?? 0));
      }
    }
    channel.end();
  }
}

/** Resolves when everything written to the stream so far has been handed on. */
function flushed(stream: Writable): Promise<void> {
  if (!stream.writable) return Promise.resolve();
  return new Promise((resolve) => stream.write(Buffer.alloc(0), () => resolve()));
}
