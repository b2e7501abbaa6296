// A shell the upgrader opens by hand on a host (the `!` key): what is done at 3 AM outside
// the runbook is in the record too. Its screen is recorded to the session folder as typed
// and shown (a log of the raw bytes and an asciicast with real times), and the journal says
// who opened it on which host, when, and how it ended. What the shell does not echo (a
// password typed at a prompt) is not recorded.
import { createWriteStream, mkdirSync, readdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import type { Actor } from '../engine/events.js';
import { untilAborted } from '../remote/errors.js';
import { visibleLine } from '../output/neutralize.js';
import { formatDuration } from '../runbook/duration.js';
import type { InteractiveShell, ShellSize } from '../remote/types.js';
import type { Session } from '../store/session.js';
import type { RemoteHosts } from './remote-hosts.js';

const SHELLS_DIR = 'shells';
/** After Enter ~., how long the host may take to say the shell closed before it is left as it is. */
const CUT_PATIENCE_MS = 2000;

/** The upgrader's terminal, handed to the shell while it lasts. */
export interface ShellTerminal {
  input: NodeJS.ReadableStream & { setRawMode?(mode: boolean): unknown; ref?(): unknown; unref?(): unknown };
  output: NodeJS.WritableStream & { columns?: number; rows?: number; on(event: 'resize', listener: () => void): unknown };
}

export interface HandShellEnd {
  exitCode: number | null;
  signal?: string;
  /** Cut off by the upgrader (Enter ~.), not ended by the shell. */
  cut: boolean;
  bytes: number;
  durationMs: number;
  /** Why the recording stopped before the shell ended (a full disk, a folder removed): its files keep what came before. */
  recordingError?: string;
}

export interface HandShell {
  host: string;
  /** user@address[:port] as logged in. */
  where: string;
  /** The recording of its screen (absolute). */
  file: string;
  /** Gives the shell the terminal's keys (those typed while it opened first) until it ends or is cut off (Enter ~.). */
  attach(keys: ShellKeys): Promise<HandShellEnd>;
}

export interface HandShellRun {
  hosts: RemoteHosts;
  session: Session;
  upgrader: Actor;
}

/**
 * Opens the shell (a failure to log in or to get a shell throws, before anything is journaled).
 * Given up (`signal`) while it opens: it throws at once, and a shell that opens after is closed unseen.
 */
export async function openHandShell(run: HandShellRun, host: string, stepId: string | null, size: ShellSize, signal?: AbortSignal): Promise<HandShell> {
  if (!run.hosts.openShell) throw new Error(`the hosts of this run give no shell to type in`);
  const opening = run.hosts.openShell(host, size);
  let shell: InteractiveShell;
  try {
    shell = await untilAborted(opening, signal, () => new Error('given up while it opened'));
  } catch (error) {
    if (signal?.aborted)
      void opening.then(
        (late) => late.end(),
        () => undefined,
      );
    throw error;
  }
  const dir = path.join(run.session.dir, SHELLS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = `${readdirSync(dir).filter((file) => file.endsWith('.log')).length + 1}-${host.replace(/[^\w.-]/g, '_')}`;
  const file = path.join(dir, `${name}.log`);
  const castFile = path.join(dir, `${name}.cast`);
  const recording = new ShellRecording(file, castFile, size);
  // Recorded from the first byte: the login banner and prompt come before the terminal is handed over.
  shell.onData((data) => recording.output(data));
  run.session.journal.append('shell.opened', {
    host,
    where: shell.where,
    by: run.upgrader,
    stepId,
    file: path.relative(run.session.dir, file),
    cast: path.relative(run.session.dir, castFile),
  });
  const startedAt = Date.now();
  return {
    host,
    where: shell.where,
    file,
    async attach(keys) {
      let cut: boolean;
      let status: { exitCode: number | null; signal?: string };
      try {
        cut = await handOver(shell, recording, keys);
        // A host that hangs may never answer the close: the terminal is not kept waiting for it.
        status = cut ? await Promise.race([shell.closed, gaveUpAfter(CUT_PATIENCE_MS)]) : await shell.closed;
      } finally {
        await recording.close();
      }
      const end: HandShellEnd = {
        ...status,
        cut,
        bytes: recording.bytes,
        durationMs: Date.now() - startedAt,
        ...(recording.failure ? { recordingError: recording.failure } : {}),
      };
      run.session.journal.append('shell.closed', {
        host,
        file: path.relative(run.session.dir, file),
        exitCode: end.exitCode,
        ...(end.signal ? { signal: end.signal } : {}),
        cut,
        bytes: end.bytes,
        durationMs: end.durationMs,
        ...(end.recordingError ? { recordingError: end.recordingError } : {}),
      });
      return end;
    },
  };
}

/** Until the shell ends: keys to it, its output to the screen, the window's size along. Resolves whether the upgrader cut it off. */
function handOver(shell: InteractiveShell, recording: ShellRecording, keys: ShellKeys): Promise<boolean> {
  const { output } = keys.terminal;
  let handedBack = false;
  // What a cut-off shell still says would land on the view.
  shell.onData((data) => void (handedBack || output.write(data)));
  recording.flushPendingTo(output);
  const onResize = () => {
    const cols = output.columns ?? 80;
    const rows = output.rows ?? 24;
    shell.resize(cols, rows);
    recording.resized(cols, rows);
  };
  // The window may have changed while the shell opened.
  if ((output.columns ?? 80) !== recording.size.cols || (output.rows ?? 24) !== recording.size.rows) onResize();
  output.on('resize', onResize);
  return new Promise((resolve) => {
    const handBack = (cut: boolean) => {
      if (handedBack) return;
      handedBack = true;
      void keys.release();
      output.removeListener('resize', onResize);
      resolve(cut);
    };
    keys.sendTo(
      (typed) => shell.write(typed),
      () => {
        shell.end();
        handBack(true);
      },
    );
    void shell.closed.then(() => handBack(false));
  });
}

/**
 * The terminal's keys from the moment `!` is pressed. While the shell opens they are kept for it,
 * as ssh keeps what is typed while it logs in, so that none of them reaches the view (a `y` typed
 * ahead must not confirm a checkpoint); Ctrl-C or Enter ~. then gives up the opening. Once the
 * shell is there they go to it, through OpenSSH's escape.
 */
export class ShellKeys {
  private readonly escape = new EscapeReader();
  private readonly kept: Buffer[] = [];
  private send: ((typed: Buffer) => void) | null = null;
  private cut: (() => void) | null = null;
  private released: Promise<void> | null = null;
  private readonly givingUp = new AbortController();
  /** Fires when the upgrader gives up while the shell opens. */
  readonly givenUp = this.givingUp.signal;

  constructor(readonly terminal: ShellTerminal) {
    const { input } = terminal;
    input.setRawMode?.(true);
    input.ref?.();
    input.on('data', this.onInput);
    input.resume();
  }

  /** From now on the keys go to `send` (those kept first); `cut` when Enter ~. is typed. */
  sendTo(send: (typed: Buffer) => void, cut: () => void): void {
    if (this.released) return;
    this.send = send;
    this.cut = cut;
    const kept = Buffer.concat(this.kept.splice(0));
    if (kept.length > 0) send(kept);
  }

  /**
   * Gives the terminal back: raw mode off, what is typed next kept for whoever reads next.
   * Resolves once it may read: Node stops reading a paused stdin one tick after pause() and
   * forgets a read under way, so a reader that started before would wait for keys for ever.
   */
  release(): Promise<void> {
    if (this.released) return this.released;
    const { input } = this.terminal;
    input.removeListener('data', this.onInput);
    input.setRawMode?.(false);
    input.pause();
    input.unref?.();
    this.released = new Promise((resolve) => setImmediate(resolve));
    return this.released;
  }

  // Ink left the stream decoding to strings.
  private readonly onInput = (data: Buffer | string) => {
    const read = this.escape.read(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    if (this.send === null) {
      const ctrlC = read.typed.indexOf(0x03);
      if (read.cut || ctrlC !== -1) return this.givingUp.abort();
      if (read.typed.length > 0) this.kept.push(read.typed);
      return;
    }
    if (read.typed.length > 0) this.send(read.typed);
    if (read.cut) this.cut?.();
  };
}

function gaveUpAfter(ms: number): Promise<{ exitCode: null }> {
  return new Promise((resolve) => setTimeout(() => resolve({ exitCode: null }), ms).unref());
}

/**
 * OpenSSH's escape, as the upgrader knows it: `~.` at the start of a line cuts the shell off
 * (a host that hangs cannot keep the terminal); `~~` sends one `~`.
 */
export class EscapeReader {
  private state: 'line-start' | 'middle' | 'tilde' = 'line-start';

  read(data: Buffer): { typed: Buffer; cut: boolean } {
    const typed: number[] = [];
    for (const byte of data) {
      if (this.state === 'tilde') {
        if (byte === 0x2e) return { typed: Buffer.from(typed), cut: true };
        typed.push(0x7e);
        if (byte !== 0x7e) typed.push(byte);
        this.state = byte === 0x0d || byte === 0x0a ? 'line-start' : 'middle';
        continue;
      }
      if (this.state === 'line-start' && byte === 0x7e) {
        this.state = 'tilde';
        continue;
      }
      typed.push(byte);
      this.state = byte === 0x0d || byte === 0x0a ? 'line-start' : 'middle';
    }
    return { typed: Buffer.from(typed), cut: false };
  }
}

/**
 * The shell's screen in two files: the raw bytes, and an asciicast v2 with the real times. A file
 * that cannot be written (a full disk, its folder removed) stops the recording, never the shell.
 */
class ShellRecording {
  bytes = 0;
  /** The first write error; nothing is written after it. */
  failure: string | undefined;
  private readonly log: WriteStream;
  private readonly cast: WriteStream;
  private readonly decoder = new StringDecoder('utf8');
  private readonly startedAt = Date.now();
  /** What came before the terminal was handed over (the banner, the prompt): drawn first. */
  private pending: Buffer[] | null = [];

  constructor(
    file: string,
    castFile: string,
    readonly size: ShellSize,
  ) {
    this.log = createWriteStream(file, { mode: 0o600 });
    this.cast = createWriteStream(castFile, { mode: 0o600 });
    for (const stream of [this.log, this.cast]) stream.on('error', (error) => this.stop(error));
    this.cast.write(
      `${JSON.stringify({ version: 2, width: size.cols, height: size.rows, timestamp: Math.floor(this.startedAt / 1000), env: { TERM: size.term } })}\n`,
    );
  }

  private get time(): number {
    return Math.round(Date.now() - this.startedAt) / 1000;
  }

  private stop(error: Error): void {
    this.failure ??= error.message;
    this.log.destroy();
    this.cast.destroy();
  }

  output(data: Buffer): void {
    this.bytes += data.length;
    this.pending?.push(data);
    if (this.failure) return;
    this.log.write(data);
    const text = this.decoder.write(data);
    if (text !== '') this.cast.write(`${JSON.stringify([this.time, 'o', text])}\n`);
  }

  flushPendingTo(output: NodeJS.WritableStream): void {
    for (const data of this.pending ?? []) output.write(data);
    this.pending = null;
  }

  resized(cols: number, rows: number): void {
    if (this.failure) return;
    this.cast.write(`${JSON.stringify([this.time, 'r', `${cols}x${rows}`])}\n`);
  }

  async close(): Promise<void> {
    if (!this.failure) {
      const rest = this.decoder.end();
      if (rest !== '') this.cast.write(`${JSON.stringify([this.time, 'o', rest])}\n`);
      this.log.end();
      this.cast.end();
    }
    await Promise.all([this.log, this.cast].map((stream) => finished(stream).catch((error: Error) => this.stop(error))));
  }
}

/** Said on the terminal from `!` on, while the shell opens. */
export function shellOpeningText(host: string): string {
  return `nightshift · opening a shell on ${visibleLine(host)}… (what you type now goes to it; Ctrl-C gives up)\r\n`;
}

/** Said on the terminal as the shell takes it. */
export function shellIntroText(shell: HandShell): string {
  return [
    `nightshift · a shell on ${visibleLine(shell.host)} (${visibleLine(shell.where)}); the run goes on meanwhile.`,
    `Recorded in ${visibleLine(shell.file)}. exit (or Ctrl-D) comes back to nightshift; Enter ~. cuts the shell off.`,
    '',
    '',
  ].join('\r\n');
}

/** How the shell ended, as the view says it when it is back. */
export function shellEndText(shell: HandShell, end: HandShellEnd): string {
  const how = end.cut
    ? 'cut off (Enter ~.)'
    : end.exitCode !== null
      ? `it exited ${end.exitCode}`
      : end.signal
        ? `it ended by ${end.signal}`
        : 'the link went before it ended';
  const where = `${path.basename(path.dirname(shell.file))}/${path.basename(shell.file)}`;
  const recorded = end.recordingError ? `its recording stopped (${visibleLine(end.recordingError)}): ${where} keeps what came before` : `recorded in ${where}`;
  return `back from the shell on ${visibleLine(shell.host)}: ${how} after ${formatDuration(end.durationMs)}; ${recorded}`;
}
