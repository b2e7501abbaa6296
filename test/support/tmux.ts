// Drives a real program in a real terminal: a private tmux server per session, keys sent
// with send-keys, the screen read with capture-pane.
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor, waitForValue } from './wait-for.js';

const EXIT_MARK = 'exit-status-of-the-program:';

export function tmuxAvailable(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

export interface TmuxOptions {
  cols?: number;
  rows?: number;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/** What a program wrote to its terminal, each chunk with the time (Date.now) it arrived. */
export interface OutputRecording {
  chunks: { at: number; data: Buffer }[];
  /** Ends the recording; resolves once every chunk is in. */
  stop(): Promise<void>;
}

export class TmuxSession {
  private recordings = 0;
  private pastes = 0;

  private constructor(
    private readonly dir: string,
    private readonly socket: string,
  ) {}

  /** Starts `command` in a fresh tmux server; the pane stays after the program exits so its status can be read. */
  static start(command: string[], options: TmuxOptions = {}): TmuxSession {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-tmux-'));
    const socket = path.join(dir, 'socket');
    const conf = path.join(dir, 'tmux.conf');
    writeFileSync(conf, 'set -g remain-on-exit on\nset -g history-limit 5000\nset -g status off\n');
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...process.env, ...options.env })) {
      // Ink draws nothing until exit when it believes it runs in CI.
      if (value !== undefined && key !== 'CI' && !key.startsWith('TMUX')) env[key] = value;
    }
    env['TERM'] = 'xterm-256color';
    execFileSync(
      'tmux',
      [
        '-S',
        socket,
        '-f',
        conf,
        'new-session',
        '-d',
        '-s',
        'main',
        '-x',
        String(options.cols ?? 120),
        '-y',
        String(options.rows ?? 40),
        ...(options.cwd ? ['-c', options.cwd] : []),
        // The exit status is printed by a shell that waits for the program: tmux's own
        // pane_dead_status is sometimes never filled in on this kind of machine.
        '--',
        'env',
        '-u',
        'CI',
        'sh',
        '-c',
        `"$@"; echo "${EXIT_MARK}$?"`,
        'sh',
        ...command,
      ],
      { env },
    );
    return new TmuxSession(dir, socket);
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Key names as tmux knows them: Enter, Escape, PPage, NPage, End, C-c, or single characters. */
  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', 'main', ...keys);
  }

  /** Literal text, typed. */
  type(text: string): void {
    this.tmux('send-keys', '-t', 'main', '-l', text);
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', 'main');
  }

  /** The screen and the lines scrolled off its top (tmux shows "Pane is dead" below a program that exited, which can scroll). */
  transcript(): string {
    return this.tmux('capture-pane', '-p', '-S', '-', '-t', 'main');
  }

  /** The transcript with the lines the terminal wrapped joined again (capture-pane -J), as they were printed. */
  unwrappedTranscript(): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'main');
  }

  /** The screen with its colours and attributes as escape sequences (capture-pane -e). */
  styledScreen(): string {
    return this.tmux('capture-pane', '-p', '-e', '-t', 'main');
  }

  /** The pane's title, as a program may set it with an escape sequence. */
  title(): string {
    return this.tmux('display-message', '-p', '-t', 'main', '#{pane_title}').trim();
  }

  /**
   * Records the bytes the program writes to its terminal from now on (pipe-pane through a
   * FIFO read here). Stopping works after the program has exited too.
   */
  async recordOutput(): Promise<OutputRecording> {
    const fifo = path.join(this.dir, `output-${++this.recordings}.fifo`);
    const pidFile = `${fifo}.pid`;
    execFileSync('mkfifo', [fifo]);
    const chunks: OutputRecording['chunks'] = [];
    const stream = createReadStream(fifo);
    stream.on('data', (data) => chunks.push({ at: Date.now(), data: data as Buffer }));
    const closed = once(stream, 'close');
    this.tmux('pipe-pane', '-t', 'main', `echo $$ > '${pidFile}'; exec cat > '${fifo}'`);
    await once(stream, 'open');
    return {
      chunks,
      stop: async () => {
        try {
          this.tmux('pipe-pane', '-t', 'main');
        } catch (error) {
          if (!String((error as Error).message).includes('pane has exited')) throw error;
          // tmux keeps the pipe of a dead pane open: once what is on its way has come, end it.
          let count = -1;
          while (count !== chunks.length) {
            count = chunks.length;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
        }
        await closed;
      },
    };
  }

  /**
   * Pastes `text` as a terminal does: line breaks as Enter, and, when `bracketed` and the
   * program asked for it, between the bracketed-paste marks (ESC[200~ ... ESC[201~).
   */
  paste(text: string, options: { bracketed: boolean }): void {
    const file = path.join(this.dir, `paste-${++this.pastes}`);
    writeFileSync(file, text);
    this.tmux('load-buffer', '-b', 'paste', file);
    this.tmux('paste-buffer', '-b', 'paste', '-d', ...(options.bracketed ? ['-p'] : []), '-t', 'main');
  }

  resize(cols: number, rows: number): void {
    this.tmux('resize-window', '-t', 'main', '-x', String(cols), '-y', String(rows));
  }

  /** The program's exit status once it has exited (128 + n for signal n), else null. */
  exitStatus(): number | null {
    const match = new RegExp(`${EXIT_MARK}(\\d+)`).exec(this.screen());
    return match ? Number(match[1]) : null;
  }

  /** Polls the screen until `test` passes; fails with the last screen when it does not in time. */
  async waitFor(test: RegExp | ((screen: string) => boolean), timeoutMs = 15_000, what = String(test)): Promise<string> {
    let screen = '';
    await waitFor(
      () => {
        screen = this.screen();
        return typeof test === 'function' ? test(screen) : test.test(screen);
      },
      { what, timeoutMs, intervalMs: 50, detail: () => `the screen was:\n${screen}` },
    );
    return screen;
  }

  async waitForExit(timeoutMs = 15_000): Promise<number> {
    return waitForValue(() => this.exitStatus() ?? undefined, {
      what: 'the program to exit',
      timeoutMs,
      intervalMs: 100,
      detail: () => `the screen was:\n${this.screen()}`,
    });
  }

  /** Closes the program's window, as closing a terminal does: its pty goes away under it. */
  killWindow(): void {
    this.tmux('kill-window', '-t', 'main');
  }

  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The bells a program wrote, the ones that end a title (OSC) sequence left out. */
export function bellsIn(bytes: string): number {
  return bytes.replace(/\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)/g, '').split('\u0007').length - 1;
}
