// sha256 of a file (or of its first N bytes) computed on the target itself, with whichever
// tool it has: sha256sum (GNU, busybox), shasum (BSD, macOS) or openssl.
import { shellQuote } from '../runbook/shell-quote.js';
import type { Connection } from './connection.js';
import { execOnConnection } from './exec.js';
import { execRetryingStart } from './transfer-exec.js';
import type { ExecResult, KeptInput } from './types.js';

/** Exit status of the script when the host has no sha256 tool at all. */
export const NO_HASH_TOOL_STATUS = 127;
const UNREADABLE_STATUS = 66;

// POSIX sh, run by /bin/sh (exec.ts's launcher). $1 is the file (empty: only check that a
// tool is there, and name it: `tool=...`), $2 the prefix length (empty: the whole file).
// openssl first: it uses the CPU's SHA instructions and was about 5x faster than
// coreutils' sha256sum on a 256 MiB file here.
const FIND_TOOL = [
  'if command -v openssl >/dev/null 2>&1; then h="openssl dgst -sha256"',
  'elif command -v sha256sum >/dev/null 2>&1; then h=sha256sum',
  'elif command -v shasum >/dev/null 2>&1; then h="shasum -a 256"',
  `else echo "none of sha256sum, shasum or openssl is installed" >&2; exit ${NO_HASH_TOOL_STATUS}; fi`,
];
const HASH_READABLE_FILE = [
  `[ -f "$1" ] && [ -r "$1" ] || { echo "cannot read $1" >&2; exit ${UNREADABLE_STATUS}; }`,
  'if [ -n "$2" ]; then head -c "$2" < "$1" | $h; else $h < "$1"; fi',
];
const HASH_SCRIPT = [...FIND_TOOL, '[ -n "$1" ] || { echo "tool=$h"; exit 0; }', ...HASH_READABLE_FILE].join('; ');
// Names its tool at once, then waits on fd 3 (launcherKeepingInput) for "go": anything else,
// or the input's end, and it ends without hashing.
const WAITING_HASH_SCRIPT = [...FIND_TOOL, 'echo "tool=$h"', 'IFS= read -r go <&3 && [ "$go" = go ] || exit 0', ...HASH_READABLE_FILE].join('; ');

/** The command line that prints the sha256 of `path` (or of its first `prefixLength` bytes). */
export function remoteHashCommand(path: string, prefixLength?: number): string {
  const args = [shellQuote(path), ...(prefixLength === undefined ? [] : [String(prefixLength)])];
  return `/bin/sh -c ${shellQuote(HASH_SCRIPT)} sh ${args.join(' ')}`;
}

export function waitingHashCommand(path: string): string {
  return `/bin/sh -c ${shellQuote(WAITING_HASH_SCRIPT)} sh ${shellQuote(path)}`;
}

/** The digest in the output of sha256sum, shasum or openssl dgst, or null. */
export function parseSha256(output: string): string | null {
  const match = /(?:^|[\s=])([0-9a-fA-F]{64})(?=\s|$)/.exec(output);
  return match?.[1]?.toLowerCase() ?? null;
}

/** The host has no tool to hash with, so no upload there can be verified. */
export class NoHashToolError extends Error {
  override readonly name = 'NoHashToolError';
}

/** Fails (as hashRemoteFile would) when the host has no tool to verify an upload with: better known before sending. */
export async function checkRemoteHashTool(connection: Connection, signal?: AbortSignal): Promise<void> {
  const output = await runHashScript(connection, '', undefined, signal);
  if (!/^tool=\S/m.test(output)) {
    throw noToolAnswerError(connection);
  }
}

export async function hashRemoteFile(connection: Connection, path: string, options: { prefixLength?: number; signal?: AbortSignal } = {}): Promise<string> {
  const output = await runHashScript(connection, path, options.prefixLength, options.signal);
  const digest = parseSha256(output);
  if (!digest) throw noDigestError(connection, path);
  return digest;
}

/** The check for a tool (checkRemoteHashTool, startRemoteHash's toolFound) ended without naming one. */
function noToolAnswerError(connection: Connection): Error {
  return new Error(`Could not tell whether ${connection.host.name} can verify an upload: the check for a sha256 tool printed no answer.`);
}

/** The hashing (hashRemoteFile, startRemoteHash's hash) ended without a digest in its output. */
function noDigestError(connection: Connection, path: string): Error {
  return new Error(`Could not read the sha256 of ${path} from ${connection.host.name}: the hashing tool printed no digest.`);
}

async function runHashScript(connection: Connection, path: string, prefixLength: number | undefined, signal: AbortSignal | undefined): Promise<string> {
  // Read-only: tried again when the host refused to start it (see transfer-exec.ts).
  const { stdout, stderr, result } = await execRetryingStart(connection, remoteHashCommand(path, prefixLength), signal);
  return answerOf(connection, path, { stdout, stderr, result });
}

function answerOf(connection: Connection, path: string, { stdout, stderr, result }: { stdout: string; stderr: string; result: ExecResult }): string {
  const { host } = connection;
  const said = stderr.trim().split('\n')[0] ?? '';
  if (result.exitCode === NO_HASH_TOOL_STATUS && /none of sha256sum/.test(said)) {
    throw new NoHashToolError(`${host.name} has none of sha256sum, shasum or openssl, so the upload cannot be verified there; install coreutils or openssl.`);
  }
  if (result.exitCode !== 0) {
    const why = said || (result.exitCode === null ? `killed by ${result.signal}` : `exit status ${result.exitCode}`);
    throw new Error(`Could not compute the sha256 of ${path} on ${host.name}: ${why}.`);
  }
  return stdout;
}

/** The target's hashing of a file still being written: see startRemoteHash. */
export interface WaitingRemoteHash {
  /** Settles once the target named its tool; rejects as checkRemoteHashTool would, or when the command could not start. */
  readonly toolFound: Promise<void>;
  /** Tells it the file is complete and resolves with its sha256 (rejects as hashRemoteFile would). */
  hash(): Promise<string>;
  /** Lets it end without hashing. */
  cancel(): void;
}

/**
 * The target's sha256 of `path`, its command started while the file is still on its way: the
 * login shell's start (half a second with a heavy ~/.bashrc) and the look for a tool overlap
 * the sending, and once told that the file is complete it only hashes.
 */
export function startRemoteHash(connection: Connection, path: string, signal?: AbortSignal): WaitingRemoteHash {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let input: KeptInput | undefined;
  let named!: () => void;
  let seen = '';
  const toolNamed = new Promise<void>((resolve) => (named = resolve));
  const ended = execOnConnection(connection, waitingHashCommand(path), {
    onStdout: (chunk) => {
      stdout.push(chunk);
      if (seen.length < 200) {
        seen += chunk.toString('utf8');
        if (/^tool=\S.*\n/m.test(seen)) named();
      }
    },
    onStderr: (chunk) => stderr.push(chunk),
    keepInput: (kept) => (input = kept),
    ...(signal ? { signal } : {}),
  });
  const answer = ended.then((result) =>
    answerOf(connection, path, { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), result }),
  );
  // Ended before naming a tool: the reason is in its answer.
  const toolFound = Promise.race([
    toolNamed,
    answer.then(() => {
      throw noToolAnswerError(connection);
    }),
  ]);
  answer.catch(() => undefined);
  toolFound.catch(() => undefined);
  return {
    toolFound,
    hash: async () => {
      await toolFound;
      if (!input?.open) throw new Error(`The hashing command on ${connection.host.name} took no input.`);
      input.write('go\n');
      input.end();
      const digest = parseSha256((await answer).replace(/^tool=.*$/m, ''));
      if (!digest) throw noDigestError(connection, path);
      return digest;
    },
    cancel: () => {
      if (input?.open) input.end();
    },
  };
}
