// Looking at a detached run from the outside, and stopping it: for an attempt whose link
// was lost, so that a new one starts only once it is known to have ended. The run folder
// (see detached-scripts.ts) says: `exit` once it ended, `pid` of its wrapper while it runs.
//
// A pid alone proves little after a while (the host may have restarted and given it to
// another process): a pid recorded under another boot id counts as ended, and the wrapper
// is recognised by its command line (`/bin/sh <folder>/run`) where /proc shows it. A
// process group outlives its leader only as long as a member does, and its id is not
// handed out again meanwhile, so a live group whose leader is gone is still the run's.
// Without /proc, a live pid counts as the run's: it fails closed, as does an answer that
// does not end with `end=ok`.
import type { Connection } from './connection.js';
import type { SudoAccess } from './become.js';
import { execCaptured } from './exec.js';
import { BOOT_ID_FUNCTION, VALUE_FUNCTIONS } from './host-shell.js';
import { runFolderFunctions } from './run-folders.js';

export type DetachedRunState =
  | { state: 'running'; pid: number }
  /** exitCode null: ended without recording its status (killed with its wrapper, or the host restarted). */
  | { state: 'ended'; exitCode: number | null }
  | { state: 'never-started' }
  | { state: 'unknown'; why: string };

/** How long a stopped run is given to end after TERM before the stop reports it still running. */
const STOP_WAIT_MS = 10_000;
const STOP_POLL_MS = 250;

/** Prints state=..., then pid= or status= or why=, then end=ok; `whenRunning` is run (with $pid set) when the run is alive. */
function stateScript(runId: string, runDir: string | undefined, whenRunning: string): string {
  const running = `echo state=running; echo pid=$pid; ${whenRunning} echo end=ok; exit 0`;
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    BOOT_ID_FUNCTION,
    'find_run started "$@" || { echo state=never-started; echo end=ok; exit 0; }',
    'if has exit; then echo state=ended; echo "status=$(get exit)"; echo end=ok; exit 0; fi',
    'b=$(get boot); n=$(boot_id)',
    'if [ -n "$b" ] && [ "$b" != "$n" ]; then echo state=ended; echo status=; echo end=ok; exit 0; fi',
    'pid=$(get pid)',
    'if [ "$pid" -gt 0 ] 2>/dev/null; then :; else echo state=unknown; echo "why=its run folder has no pid"; echo end=ok; exit 0; fi',
    `if [ -r "/proc/$pid/cmdline" ]; then if tr '\\0' '\\n' < "/proc/$pid/cmdline" | grep -qxF "$d/run"; then ${running}; fi`,
    `elif [ -d /proc/self ]; then if kill -0 -"$pid" 2>/dev/null; then ${running}; fi`,
    `elif kill -0 "$pid" 2>/dev/null; then ${running}; fi`,
    'echo state=ended; echo status=; echo end=ok',
  ].join('\n');
}

export function runStateScript(runId: string, runDir?: string): string {
  return stateScript(runId, runDir, '');
}

/** TERM to the run's process group, only when the run is recognised as alive (as runStateScript does). */
export function stopRunScript(runId: string, runDir?: string): string {
  return stateScript(runId, runDir, 'kill -TERM -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null;');
}

export function readRunState(stdout: string): DetachedRunState {
  const lines = stdout.split('\n').filter((line) => line !== '');
  if (lines.at(-1)?.trim() !== 'end=ok') {
    return { state: 'unknown', why: `the host's answer was cut short: ${JSON.stringify(stdout.trim().slice(0, 200))}` };
  }
  const values = new Map<string, string>();
  for (const line of lines) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  switch (values.get('state')) {
    case 'running':
      return { state: 'running', pid: Number(values.get('pid')) };
    case 'ended': {
      const status = values.get('status') ?? '';
      return { state: 'ended', exitCode: /^\d+$/.test(status) ? Number(status) : null };
    }
    case 'never-started':
      return { state: 'never-started' };
    case 'unknown':
      return { state: 'unknown', why: values.get('why') ?? 'the run folder says neither' };
    default:
      return { state: 'unknown', why: `the host answered ${JSON.stringify(stdout.trim().slice(0, 200))}` };
  }
}

async function runScript(connection: Connection, script: string, signal?: AbortSignal, sudo?: SudoAccess): Promise<string> {
  const { stdout, stderr, result } = await execCaptured(connection, script, signal, sudo);
  if (result.exitCode !== 0) throw new Error(folderUnreadable(connection.host.name, stderr, result.exitCode ?? result.signal ?? '?'));
  return stdout;
}

/** The host's own words are quoted (control characters escaped): they reach the screen. */
export function folderUnreadable(host: string, stderr: string, status: number | string): string {
  const said = stderr.trim();
  return `Could not read the run folder on ${host}: ${said ? `it said ${JSON.stringify(said.slice(0, 300))}` : `exit ${status}`}.`;
}

/** A detached run on a host, and how to reach its folder there. */
export interface DetachedRunOn {
  connection: Connection;
  runId: string;
  runDir: string | undefined;
  signal?: AbortSignal | undefined;
  sudo?: SudoAccess | undefined;
}

export async function readRunStateOn({ connection, runId, runDir, signal, sudo }: DetachedRunOn): Promise<DetachedRunState> {
  return readRunState(await runScript(connection, runStateScript(runId, runDir), signal, sudo));
}

/** TERMs the run if it is alive, then waits a while for it to end; returns the state it was left in. */
export async function stopRunOn(run: DetachedRunOn): Promise<DetachedRunState> {
  const { connection, runId, runDir, signal, sudo } = run;
  let state = readRunState(await runScript(connection, stopRunScript(runId, runDir), signal, sudo));
  const deadline = Date.now() + STOP_WAIT_MS;
  while (state.state === 'running' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    signal?.throwIfAborted();
    state = await readRunStateOn(run);
  }
  return state;
}
