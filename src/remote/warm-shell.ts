// A shell kept ready on a connection for its next command. A command on a channel of its
// own waits two round trips before it runs (the channel's opening, then its exec request,
// after which sshd opens the channel's input); one kept ready has done both and waits on its
// input for a script (WARM_LAUNCHER): over a 180 ms link each step starts 0.36 s sooner, and
// the login shell's start (a slow ~/.bashrc) is behind it too. What it printed meanwhile (the
// login shell's words; its pid line comes only once it has read a script) is handed over with
// it, to be read as a new channel's.
import type { ClientChannel, Client as SshClient } from 'ssh2';
import { WARM_LAUNCHER } from './launcher.js';

/** A shell kept ready, now a command's: its channel, and what it said before it was taken. */
export interface TakenShell {
  channel: ClientChannel;
  said: Array<{ stream: 'stdout' | 'stderr'; chunk: Buffer }>;
}

export class WarmShell {
  private channel: ClientChannel | undefined;
  private said: TakenShell['said'] = [];
  private ended = false;
  private taken = false;
  private readonly opened: Promise<void>;
  private markClosed: () => void = () => {};
  /** Resolves once the shell's channel has closed, or could not open. */
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));
  private readonly onStdout = (chunk: Buffer) => this.said.push({ stream: 'stdout', chunk });
  private readonly onStderr = (chunk: Buffer) => this.said.push({ stream: 'stderr', chunk });
  private readonly onEnded = () => (this.ended = true);

  /** Asks the server for the shell at once; `onGone` hears when it ended or could not start while nobody had taken it. */
  constructor(client: SshClient, onGone: () => void) {
    this.opened = new Promise((resolve) => {
      try {
        client.exec(WARM_LAUNCHER, (error, channel) => {
          if (error) {
            this.ended = true;
            this.markClosed();
            onGone();
            return resolve();
          }
          this.channel = channel;
          channel.on('data', this.onStdout);
          channel.stderr.on('data', this.onStderr);
          channel.once('exit', this.onEnded);
          channel.once('close', this.onEnded);
          channel.once('close', () => {
            this.markClosed();
            if (!this.taken) onGone();
          });
          if (this.taken) this.end();
          resolve();
        });
      } catch {
        // "Not connected": the connection is going; it says so itself.
        this.ended = true;
        this.markClosed();
        resolve();
      }
    });
  }

  /**
   * The shell, once its exec request was answered, for the caller to write its script to; null
   * when it could not start or has ended (the caller opens a channel of its own).
   */
  async take(): Promise<TakenShell | null> {
    if (this.taken) return null;
    this.taken = true;
    await this.opened;
    const channel = this.channel;
    if (!channel || this.ended || !channel.writable) {
      this.end();
      return null;
    }
    channel.off('data', this.onStdout);
    channel.stderr.off('data', this.onStderr);
    channel.off('exit', this.onEnded);
    channel.off('close', this.onEnded);
    return { channel, said: this.said };
  }

  /** Ends a shell nobody took: its input ends, and it exits having run nothing. */
  end(): void {
    this.taken = true;
    const channel = this.channel;
    if (!channel) return;
    this.channel = undefined;
    try {
      // Read to the end, or ssh2 would never hear its close (it comes after the end).
      channel.resume();
      channel.stderr.resume();
      channel.end();
    } catch {
      // gone with its connection
    }
  }
}

/** Hands what a shell kept ready said before it was taken to the listeners the taker put on its channel. */
export function replaySaid(taken: TakenShell): void {
  for (const { stream, chunk } of taken.said) {
    if (stream === 'stdout') taken.channel.emit('data', chunk);
    else taken.channel.stderr.emit('data', chunk);
  }
}
