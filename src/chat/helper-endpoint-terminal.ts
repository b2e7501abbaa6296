// A logged-in helper's terminal as Ink sees it: an input stream and an output stream that
// pass for a TTY, fed by and feeding one ssh2 session channel. There is no real pty behind
// it, so this is where the pty's line discipline would be: Ink puts the terminal in raw mode
// anyway (keys pass through as typed), and output gets the pty's ONLCR ("\n" → "\r\n").
import { PassThrough, Writable } from 'node:stream';
import type { ServerChannel } from 'ssh2';
import { PasteLimiter } from './paste-limit.js';

export type HelperRole = 'sentinel' | 'observer';

/** The keys the helper types, raw bytes as their terminal sends them. */
export class HelperInput extends PassThrough {
  readonly isTTY = true as const;
  isRaw = false;

  /** Nothing to switch: the helper's own ssh client already has their terminal in raw mode. */
  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

/**
 * The largest screen a helper's view is drawn for. The size is the client's word: drawn as
 * told, 6000x6000 took 3.9 GB and froze the upgrader's keys for minutes.
 */
export const MAX_COLUMNS = 500;
export const MAX_ROWS = 200;
const DEFAULT_COLUMNS = 80;
const DEFAULT_ROWS = 24;

/**
 * A size a helper's client reported (pty-req or window-change), brought within 1x1 and
 * MAX_COLUMNS x MAX_ROWS; a 0 (the client does not know) becomes `fallback`'s.
 */
export function clampTerminalSize(
  columns: number,
  rows: number,
  fallback: { columns: number; rows: number } = { columns: DEFAULT_COLUMNS, rows: DEFAULT_ROWS },
): { columns: number; rows: number } {
  const within = (value: number, max: number, otherwise: number) =>
    Number.isInteger(value) && value > 0 ? Math.min(value, max) : Math.min(Math.max(1, otherwise), max);
  return { columns: within(columns, MAX_COLUMNS, fallback.columns), rows: within(rows, MAX_ROWS, fallback.rows) };
}

/** The helper's screen. `columns`/`rows` follow the pty size, clamped; 'resize' is emitted when they change. */
export class HelperOutput extends Writable {
  readonly isTTY = true as const;
  columns: number;
  rows: number;
  readonly #sink: (bytes: Buffer) => void;
  #lastByte = 0;
  #alternateScreen = false;

  constructor(sink: (bytes: Buffer) => void, columns: number, rows: number) {
    super({ decodeStrings: true });
    this.#sink = sink;
    ({ columns: this.columns, rows: this.rows } = clampTerminalSize(columns, rows));
  }

  /** The size the client reported, clamped (a 0 keeps the current one); emits 'resize' when it changed. */
  setSize(columns: number, rows: number): void {
    const size = clampTerminalSize(columns, rows, this);
    if (size.columns === this.columns && size.rows === this.rows) return;
    this.columns = size.columns;
    this.rows = size.rows;
    this.emit('resize');
  }

  /** Whether what was written last switched the helper's terminal to the alternate screen. */
  get alternateScreen(): boolean {
    return this.#alternateScreen;
  }

  getWindowSize(): [number, number] {
    return [this.columns, this.rows];
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (chunk.length > 0) {
      const translated = onlcr(chunk, this.#lastByte);
      this.#lastByte = chunk[chunk.length - 1] ?? 0;
      this.#alternateScreen = alternateScreenAfter(chunk, this.#alternateScreen);
      this.#sink(translated);
    }
    callback();
  }
}

const ALTERNATE_SCREEN = /\x1b\[\?(?:1049|1047|47)([hl])/g;

/** Whether the terminal shows the alternate screen after `chunk`, given whether it did before. */
export function alternateScreenAfter(chunk: Buffer, before: boolean): boolean {
  if (!chunk.includes(0x1b)) return before;
  let after = before;
  for (const match of chunk.toString('latin1').matchAll(ALTERNATE_SCREEN)) after = match[1] === 'h';
  return after;
}

/** "\n" not already after "\r" becomes "\r\n", as a pty's output processing would do. */
export function onlcr(chunk: Buffer, previousByte = 0): Buffer {
  let bare = 0;
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] === 0x0a && (i === 0 ? previousByte : chunk[i - 1]) !== 0x0d) bare++;
  }
  if (bare === 0) return chunk;
  const out = Buffer.allocUnsafe(chunk.length + bare);
  let o = 0;
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i]!;
    if (byte === 0x0a && (i === 0 ? previousByte : chunk[i - 1]) !== 0x0d) out[o++] = 0x0d;
    out[o++] = byte;
  }
  return out;
}

/** What a logged-in helper's terminal looks like to Ink (see HelperTerminal in helper-endpoint.ts). */
export interface HelperTerminal {
  readonly role: HelperRole;
  /** Distinct per connection: 'sentinel', 'sentinel-2', 'observer', ... */
  readonly id: string;
  /** The TERM the helper's client reported, e.g. 'xterm-256color'. */
  readonly term: string;
  /** Where the helper came from, "address:port" (127.0.0.1 when through the tunnel). */
  readonly from: string;
  readonly input: HelperInput;
  readonly output: HelperOutput;
  readonly closed: boolean;
  /** Ends the session, printing `message` on its own line first when given. Harmless when already closed. */
  close(message?: string): void;
  /** Called exactly once when the session ends, whoever ended it; at once if it already has. */
  onClose(listener: () => void): void;
}

/** Output waiting for a helper whose client stopped reading: past this, the session is ended. */
const MAX_PENDING_OUTPUT = 8 * 1024 * 1024;
const RESET_TERMINAL = '\x1b[0m\x1b[?25h\x1b[?2004l';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';
/** After the channel is closed, how long the client gets to close it too before its connection is ended. */
const CLOSE_GRACE_MS = 2000;

export interface HelperSessionOptions {
  role: HelperRole;
  id: string;
  term: string;
  from: string;
  columns: number;
  rows: number;
  channel: ServerChannel;
  /** Ends the whole SSH connection (a helper has one session). */
  endConnection(): void;
}

export class HelperSession implements HelperTerminal {
  readonly role: HelperRole;
  readonly id: string;
  readonly term: string;
  readonly from: string;
  readonly input = new HelperInput();
  readonly output: HelperOutput;
  readonly #channel: ServerChannel;
  readonly #endConnection: () => void;
  readonly #listeners: Array<() => void> = [];
  readonly #pastes = new PasteLimiter();
  #closed = false;
  /** Nothing more goes out: close() has said its last word. */
  #sealed = false;

  constructor(options: HelperSessionOptions) {
    this.role = options.role;
    this.id = options.id;
    this.term = options.term;
    this.from = options.from;
    this.#channel = options.channel;
    this.#endConnection = options.endConnection;
    this.output = new HelperOutput((bytes) => this.#send(bytes), options.columns, options.rows);
    this.#channel.on('data', (raw: Buffer) => {
      const data = this.#pastes.filter(raw);
      if (this.#closed || data.length === 0 || this.input.write(data)) return;
      // Nobody reads the keys just now: the SSH window fills up and the helper's client waits.
      this.#channel.pause();
      this.input.once('drain', () => this.#channel.resume());
    });
    this.#channel.on('error', () => {});
    this.#channel.once('close', () => this.ended());
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(message?: string): void {
    if (this.#closed) return;
    // The listeners go first, while output still reaches the helper: an Ink app unmounted
    // there leaves the alternate screen and shows the cursor again itself.
    try {
      this.ended();
    } finally {
      this.#hangUp(message);
    }
  }

  #hangUp(message: string | undefined): void {
    const channel = this.#channel;
    try {
      if (channel.writable) {
        // Whatever the app left behind all the same: the alternate screen, colours, a hidden cursor, bracketed paste.
        channel.write(`${this.output.alternateScreen ? LEAVE_ALTERNATE_SCREEN : ''}${RESET_TERMINAL}`);
        if (message !== undefined) channel.write(onlcr(Buffer.from(`\r\n${message}\n`, 'utf8'), 0x0d));
        channel.exit(0);
        channel.end();
      }
    } catch {
      // the client is gone already
    }
    this.#sealed = true;
    const grace = setTimeout(() => this.#endConnection(), CLOSE_GRACE_MS);
    grace.unref();
    channel.once('close', () => {
      clearTimeout(grace);
      this.#endConnection();
    });
  }

  onClose(listener: () => void): void {
    if (this.#closed) queueMicrotask(listener);
    else this.#listeners.push(listener);
  }

  /** The session is over (channel closed, connection gone, or close()): the listeners run, once. */
  ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.input.end();
    let failure: unknown;
    for (const listener of this.#listeners.splice(0)) {
      try {
        listener();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  #send(bytes: Buffer): void {
    if (this.#sealed || !this.#channel.writable) return;
    try {
      this.#channel.write(bytes);
    } catch {
      return;
    }
    if (this.#channel.writableLength > MAX_PENDING_OUTPUT) this.close();
  }
}
