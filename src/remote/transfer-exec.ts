// Uploading without an SFTP server (dropbear and minimal systems often have none): the
// partial file is written by shell commands, one exec per chunk, through the same launcher
// as every other command (launcher.ts).
//
// Why the bytes travel inside each chunk's script and not as a stream on stdin: the launcher
// reads the script with c=$(cat), that is until end of file, and an SSH channel's EOF is
// final (nothing can follow it on that channel). So no script run by the launcher can read
// data from stdin. A pty would let a ^D end cat's read and keep the terminal open, but a
// terminal alters bytes until it is put in raw mode, and bytes that arrive before stty ran
// would be cooked; exec channels without a pty are 8-bit clean but consumed by the launcher.
// A second channel does not help either: it goes through the launcher too. So each chunk is
// a printf whose format carries the bytes: printable ASCII as it is, every other byte as a
// three-digit octal escape (POSIX printf, built into dash, BusyBox ash and bash, and NUL-safe,
// unlike a shell variable or a here-document), piped into dd, which POSIX and BusyBox have.
//
// A chunk's script stays well below what a shell holds comfortably in one word (and below
// Linux's 128 KiB for one argument, should it ever become one): a chunk is as many 4 KiB blocks as fit in SCRIPT_BUDGET
// once escaped (random bytes grow about 3x, text hardly). dd writes it at its block offset
// and cuts the file there first (no conv=notrunc): sending a chunk again after a lost answer
// gives the same file, and the file never holds more than what was acknowledged plus the
// chunk on its way. A resume starts at a block boundary, from the bytes the host already
// has, once their sha256 matches the local file's start (transfer.ts).
//
// One command at a time: dropbear 2022.82 to 2022.83 (Debian 12, OpenWrt 22.03) closes a
// session channel opened while another command of the same connection exits, before its
// command starts (mkj/dropbear#173; ssh2 says "Unable to exec", OpenSSH's multiplexing
// client exits 255), so chunks in flight on parallel channels would fail at random there.
// Other commands nightshift runs on that host meanwhile can still hit it: a command that
// did not start is tried again (START_ATTEMPTS), which is safe as each one here can run twice.
import type { FileHandle } from 'node:fs/promises';
import { stripControls } from '../output/neutralize.js';
import { shellQuote } from '../runbook/shell-quote.js';
import type { Connection } from './connection.js';
import { abortError } from './errors.js';
import { execCaptured } from './exec.js';
import { HostReport } from './host-shell.js';

/** Chunks start at multiples of this; a resume too. */
export const SHELL_BLOCK_SIZE = 4096;
/** Well under Linux's 128 KiB limit on one argument (MAX_ARG_STRLEN), with room for the command around the bytes. */
export const SCRIPT_BUDGET = 120 * 1024;
export const MAX_CHUNK_BYTES = Math.floor(SCRIPT_BUDGET / SHELL_BLOCK_SIZE) * SHELL_BLOCK_SIZE;
const DONE = 'written';
const START_ATTEMPTS = 8;
const START_RETRY_PAUSE_MS = 50;

/** Where a resume may start, from the size of the partial file: its last block boundary, as chunks are written at block offsets. */
export function resumePoint(partSize: number): number {
  return partSize - (partSize % SHELL_BLOCK_SIZE);
}

/** Each byte as it goes into a single-quoted printf format. */
const ESCAPED: readonly string[] = Array.from({ length: 256 }, (_, byte) => {
  const literal = byte >= 0x20 && byte <= 0x7e && !"'\\%-".includes(String.fromCharCode(byte));
  return literal ? String.fromCharCode(byte) : `\\${byte.toString(8).padStart(3, '0')}`;
});

/** The printf format that writes `bytes` exactly. */
export function printfFormat(bytes: Uint8Array): string {
  let format = '';
  for (const byte of bytes) format += ESCAPED[byte];
  return format;
}

/** The script that writes `bytes` at block `block` of `partPath`, cutting the file there first. */
export function chunkScript(partPath: string, block: number, bytes: Uint8Array): string {
  return (
    `e=$(printf '${printfFormat(bytes)}' | dd of=${shellQuote(partPath)} bs=${SHELL_BLOCK_SIZE} seek=${block} 2>&1) ` +
    `&& echo ${DONE} || { printf '%s\\n' "$e" >&2; exit 1; }`
  );
}

/** What is at the upload's paths on the host. */
export interface ShellTargetState {
  /** The size of the partial file of an earlier attempt, or null when there is none. */
  partSize: number | null;
}

/** The partial file on a host without SFTP, written and finished with shell commands. */
export class ShellPart {
  private readonly where: string;

  constructor(
    private readonly connection: Connection,
    private readonly partPath: string,
    private readonly finalPath: string,
  ) {
    this.where = connection.host.name;
  }

  /** Fails, naming the folder, when it is missing or the target is a folder; else what an earlier attempt left. */
  async inspect(folder: string, signal?: AbortSignal): Promise<ShellTargetState> {
    const script = [
      'if [ ! -e "$1" ]; then echo folder=missing; elif [ ! -d "$1" ]; then echo folder=other; else echo folder=ok; fi',
      '[ ! -d "$2" ] || echo target=folder',
      'if [ -f "$3" ]; then echo "part=$(wc -c < "$3" | tr -d " ")"; fi',
      'echo end=ok',
    ].join('\n');
    const report = await this.run(withArgs(script, folder, this.finalPath, this.partPath), `Could not look at ${folder}`, signal);
    const state = report.get('folder');
    if (state === 'missing') throw new Error(`The remote folder ${folder} does not exist on ${this.where}; create it first or correct the path.`);
    if (state !== 'ok') throw new Error(`${folder} on ${this.where} is not a folder, so ${this.finalPath} cannot be written.`);
    if (report.get('target') === 'folder') {
      throw new Error(`${this.finalPath} on ${this.where} is a folder; give the file's full path (or end it with / to keep the local name).`);
    }
    const part = report.get('part');
    return { partSize: part !== undefined && /^\d+$/.test(part) ? Number(part) : null };
  }

  /** An empty partial file (private when `privateMode`), which also proves the folder is writable. */
  async startEmpty(privateMode: boolean, signal?: AbortSignal): Promise<void> {
    const script = `${privateMode ? 'umask 077; ' : ''}: > "$1" && echo end=ok`;
    try {
      await this.run(withArgs(script, this.partPath), `Could not create ${this.partPath}`, signal);
    } catch (error) {
      if (/permission denied/i.test((error as Error).message)) {
        const folder = this.finalPath.slice(0, Math.max(1, this.finalPath.lastIndexOf('/')));
        throw new Error(`Cannot write into the remote folder ${folder} on ${this.where}: permission denied for ${this.partPath}.`);
      }
      throw error;
    }
  }

  /**
   * Sends [from, to) of the local file, chunk after chunk; `from` is a multiple of
   * SHELL_BLOCK_SIZE. Rejects on the first failure or on abort (the chunk on its way is
   * stopped); what was acknowledged stays for a resume.
   */
  async send(range: {
    localFile: FileHandle;
    localPath: string;
    from: number;
    to: number;
    signal?: AbortSignal;
    /** Each chunk, in offset order, before it is written (the buffer is reused afterwards). */
    onChunk?(bytes: Buffer): void;
    onBytes(bytes: number): void;
  }): Promise<void> {
    const { signal } = range;
    const buffer = Buffer.allocUnsafe(MAX_CHUNK_BYTES);
    let position = range.from;
    while (position < range.to) {
      if (signal?.aborted) throw abortError();
      const wanted = Math.min(MAX_CHUNK_BYTES, range.to - position);
      const { bytesRead } = await range.localFile.read(buffer, 0, wanted, position);
      if (bytesRead !== wanted) {
        throw new Error(`The local file ${range.localPath} became shorter during the upload; upload it again once it stopped changing.`);
      }
      const length = chunkLength(buffer.subarray(0, wanted));
      range.onChunk?.(buffer.subarray(0, length));
      const script = chunkScript(this.partPath, position / SHELL_BLOCK_SIZE, buffer.subarray(0, length));
      const { stdout, stderr, result } = await this.exec(script, signal);
      if (result.exitCode !== 0 || stdout.trim() !== DONE) {
        throw new Error(`Could not write to ${this.partPath} on ${this.where}: ${firstLine(stderr) || describeEnd(result)}.`);
      }
      position += length;
      range.onBytes(length);
    }
  }

  /** Has the host write the partial file to its disk (dd's conv=fsync). */
  async sync(signal?: AbortSignal): Promise<void> {
    await this.run(withArgs('dd if=/dev/null of="$1" conv=notrunc,fsync 2>/dev/null; echo end=ok', this.partPath), `Could not sync ${this.partPath}`, signal);
  }

  /** What transfer-finish.ts needs of an SFTP session (chmod, unlink, rename), done with shell commands. */
  readonly finishing = {
    chmod: async (path: string, mode: number): Promise<void> => {
      await this.run(withArgs(`chmod ${mode.toString(8)} -- "$1" && echo end=ok`, path), `Could not set the mode of ${path}`);
    },
    unlink: async (path: string): Promise<void> => {
      await this.run(withArgs('rm -f -- "$1" && echo end=ok', path), `Could not remove ${path}`);
    },
    /** mv does rename(2): atomic, and it replaces the target. */
    posixRename: async (from: string, to: string): Promise<boolean> => {
      // Tried again after a refused start only when the partial file is still there: a lost answer may hide a move that was done.
      await this.run(
        withArgs('[ -e "$1" ] || [ ! -e "$2" ] || { echo end=ok; exit 0; }; mv -f -- "$1" "$2" && echo end=ok', from, to),
        `Could not move ${from} to ${to}`,
      );
      return true;
    },
  };

  private exec(script: string, signal?: AbortSignal): ReturnType<typeof execCaptured> {
    return execRetryingStart(this.connection, script, signal);
  }

  private async run(script: string, failure: string, signal?: AbortSignal): Promise<HostReport> {
    const { stdout, stderr, result } = await this.exec(script, signal);
    const report = HostReport.read(stdout);
    if (result.exitCode !== 0 || !report) throw new Error(`${failure} on ${this.where}: ${firstLine(stderr) || describeEnd(result)}.`);
    return report;
  }
}

/**
 * execCaptured, tried again while the command was refused before it could start (the link
 * still up, not aborted): see "One command at a time" above. Every script here can run twice.
 */
export async function execRetryingStart(connection: Connection, script: string, signal?: AbortSignal): ReturnType<typeof execCaptured> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await execCaptured(connection, script, signal);
    } catch (error) {
      const name = (error as Error).name;
      if (attempt >= START_ATTEMPTS || name === 'AbortError' || name === 'ConnectionLostError' || !connection.isAlive || signal?.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, START_RETRY_PAUSE_MS * attempt));
    }
  }
}

/** The longest run of whole blocks from the start of `bytes` (all of them when they fit) whose printf format stays within the budget; at least one block. */
export function chunkLength(bytes: Uint8Array): number {
  let scriptBytes = 0;
  for (let start = 0; start < bytes.length; start += SHELL_BLOCK_SIZE) {
    const end = Math.min(bytes.length, start + SHELL_BLOCK_SIZE);
    let blockBytes = 0;
    for (let index = start; index < end; index++) blockBytes += ESCAPED[bytes[index]!]!.length;
    if (start > 0 && scriptBytes + blockBytes > SCRIPT_BUDGET) return start;
    scriptBytes += blockBytes;
  }
  return bytes.length;
}

/** `script` run by sh with the arguments as $1, $2, …: paths never go through the script's own text. */
function withArgs(script: string, ...args: string[]): string {
  return `set -- ${args.map(shellQuote).join(' ')}\n${script}`;
}

function firstLine(text: string): string {
  return stripControls(text.trim().split('\n')[0] ?? '').trim();
}

function describeEnd(result: { exitCode: number | null; signal?: string }): string {
  return result.exitCode === null ? `killed by signal ${result.signal ?? 'unknown'}` : `exit status ${result.exitCode}`;
}
