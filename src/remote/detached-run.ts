// A step that outlives its SSH channel: started detached on the host, its output followed
// from byte offsets counted here, so that after a dropped link exactly the missing bytes
// are asked for again, and its exit status collected at the end. The run's folder stays
// on the host until releaseDetachedRun, once the caller has recorded the result: until
// then, following again (after a drop, or a resume) gives the same result, never a second run.
import type { SudoAccess } from './become.js';
import type { Connection } from './connection.js';
import {
  collectScript,
  FOLLOW_FAILURES,
  followScript,
  HOST_RESTARTED,
  NO_RUN_FOLDER,
  releaseScript,
  START_FAILURES,
  startScript,
  stopScript,
  SYSTEMD_RUN_FAILED,
} from './detached-scripts.js';
import { abortError } from './errors.js';
import { execCaptured, execOnConnection } from './exec.js';
import { stripControls } from '../output/neutralize.js';
import { describeWriteFailure, HostReport } from './host-shell.js';
import type { DetachedRunOptions, ExecResult } from './types.js';

export interface ConnectionAccess {
  /** The host's live connection, logging in if there is none. */
  current(signal?: AbortSignal): Promise<Connection>;
  /** After a drop: logs in again with growing pauses; rejects once the host counts as lost. */
  regain(signal?: AbortSignal): Promise<Connection>;
  /**
   * `become: sudo`: how sudo is used on that connection. Every script of the run (start,
   * follow, collect, stop, release) then runs as root, so they all find the same run folder
   * (root's) and may stop a command of root's.
   */
  sudo?(connection: Connection): SudoAccess | undefined;
}

export async function runDetached(access: ConnectionAccess, command: string, options: DetachedRunOptions): Promise<ExecResult> {
  const { runId, signal, runDir } = options;
  const offsets = { out: options.from?.out ?? 0, err: options.from?.err ?? 0 };
  let connection = await access.current(signal);
  // Once the command is known to be started, only following it is asked for: a folder gone
  // by then is reported, never made again.
  let started = options.followOnly ?? false;
  if (started) options.onStarted?.();
  for (;;) {
    try {
      const sudo = access.sudo?.(connection);
      if (!started) {
        await startCommand(connection, runId, command, options, sudo);
        started = true;
        options.onStarted?.();
      }
      const followed = await execOnConnection(
        connection,
        followScript(runId, offsets, runDir),
        {
          onStdout: (chunk) => {
            offsets.out += chunk.length;
            options.onStdout(chunk);
          },
          onStderr: (chunk) => {
            offsets.err += chunk.length;
            options.onStderr(chunk);
          },
          ...(signal ? { signal } : {}),
        },
        sudo,
      );
      if (followed.exitCode !== 0 && followed.exitCode !== HOST_RESTARTED) {
        const why = FOLLOW_FAILURES[followed.exitCode ?? -1] ?? `the follower ended with ${followed.exitCode ?? followed.signal}`;
        throw new Error(`Could not follow the detached step on ${connection.host.name}: ${why}.`);
      }
      return await collectResult(connection, runId, offsets, options, sudo);
    } catch (error) {
      if ((error as Error).name === 'AbortError' || signal?.aborted) {
        if (options.leaveRunning?.()) throw abortError();
        if (connection.isAlive) connection.track(runQuietlyAs(connection, stopScript(runId, runDir), access.sudo?.(connection)));
        else options.onNotice?.(`nightshift: the link to ${connection.host.name} is down: the command could not be stopped there`);
        throw abortError();
      }
      if ((error as Error).name !== 'ConnectionLostError' && connection.isAlive) throw error;
      options.onNotice?.(
        `nightshift: the link to ${connection.host.name} dropped; reconnecting to follow the command on from byte ${offsets.out} of stdout and ${offsets.err} of stderr`,
      );
      connection = await access.regain(signal);
      options.onNotice?.(`nightshift: reconnected to ${connection.host.name}`);
    }
  }
}

/** Claims the run folder and starts the command there, or finds it started; says where when the usual folder could not be used. */
async function startCommand(connection: Connection, runId: string, command: string, options: DetachedRunOptions, sudo?: SudoAccess): Promise<void> {
  const host = connection.host.name;
  const { stdout, stderr, result } = await execCaptured(connection, startScript(runId, command, options.runDir), options.signal, sudo);
  const report = HostReport.read(stdout);
  const skipped = stdout
    .split('\n')
    .filter((line) => line.startsWith('skipped='))
    .map((line) => stripControls(line.slice('skipped='.length)).trim());
  if (result.exitCode === NO_RUN_FOLDER) {
    const said = [...skipped, ...lastLine(stderr)].join('; ');
    throw new Error(
      `Could not run the step detached on ${host}: no run folder could be written there (${said || 'no reason given'}); free some space, or give the host a run_dir in the runbook.`,
    );
  }
  if (result.exitCode === SYSTEMD_RUN_FAILED) {
    throw new Error(`Could not run the step detached on ${host}: systemd-run refused to start it (${lastLine(stderr)[0] ?? 'no reason given'}).`);
  }
  if (result.exitCode !== 0) {
    const why =
      START_FAILURES[result.exitCode ?? -1] ??
      `the start script ended with ${result.exitCode ?? result.signal}${stderr.trim() ? `: ${lastLine(stderr)[0]}` : ''}`;
    throw new Error(`Could not run the step detached on ${host}: ${why}.`);
  }
  if (!report)
    throw new Error(
      `Could not run the step detached on ${host}: the start script did not run to its end (it printed no end mark), so whether the command started is unknown.`,
    );
  if (report.get('state') === 'new' && skipped.length > 0) {
    options.onNotice?.(`nightshift: the command runs in ${stripControls(report.get('dir') ?? '?')} on ${host}, since ${skipped.join('; ')}`);
  }
}

/** The exit status once the command ended; a command that left none fails the step saying why. */
async function collectResult(
  connection: Connection,
  runId: string,
  offsets: { out: number; err: number },
  options: DetachedRunOptions,
  sudo?: SudoAccess,
): Promise<ExecResult> {
  const host = connection.host.name;
  const { stdout, stderr, result } = await execCaptured(connection, collectScript(runId, options.runDir), options.signal, sudo);
  const report = HostReport.read(stdout);
  if (result.exitCode !== 0 || !report) {
    const why = stderr.trim() ? lastLine(stderr)[0] : `it ${result.exitCode === 0 ? 'printed no end mark' : `ended with ${result.exitCode ?? result.signal}`}`;
    throw new Error(`Could not read the exit status of the command on ${host}: ${why}.`);
  }
  if (report.get('state') === 'gone') throw new Error(`Could not read the exit status of the command on ${host}: ${FOLLOW_FAILURES[96]}.`);
  for (const [stream, bytes] of [
    ['stdout', offsets.out],
    ['stderr', offsets.err],
  ] as const) {
    const cut = report.get(stream === 'stdout' ? 'out_cut' : 'err_cut');
    if (cut === undefined) continue;
    options.onNotice?.(
      `nightshift: ${host} could not write the command's ${stream} after ${bytes} bytes (${describeWriteFailure(cut)} in ${stripControls(report.get('dir') ?? 'its run folder')}): what it printed after that is lost`,
    );
  }
  const exit = report.get('exit');
  if (exit !== undefined && /^\d+$/.test(exit)) return { exitCode: Number(exit) };
  const before = report.get('boot') ?? '';
  const now = report.get('boot_now') ?? '';
  if (before !== '' && before !== now) {
    throw new Error(
      `${host} restarted while the command ran (boot id ${shownBootId(before)} then, ${shownBootId(now)} now): the command died with it and is not started again; see what it did before going on.`,
    );
  }
  throw new Error(
    `The command on ${host} ended without recording an exit status (its wrapper was killed, by kill -9 or the out-of-memory killer, or could not write): whether it did its work is unknown; look on the host.`,
  );
}

/** The last line the host printed, without what could drive a terminal. */
function lastLine(text: string): string[] {
  const line = stripControls(text.trim().split('\n').at(-1) ?? '').trim();
  return line ? [line] : [];
}

function shownBootId(id: string): string {
  return /^[0-9a-f-]{1,64}$/i.test(id) ? id : 'an unreadable one';
}

/** Once the run's result is recorded: frees its output on the host. Best effort, over a live link only. */
export function releaseDetachedRun(connection: Connection | undefined, runId: string, runDir?: string, sudo?: SudoAccess): void {
  if (connection?.isAlive) connection.track(runQuietlyAs(connection, releaseScript(runId, runDir), sudo));
}

/** A housekeeping script, output ignored, bounded in time; through sudo for a run of root's. */
function runQuietlyAs(connection: Connection, script: string, sudo: SudoAccess | undefined): Promise<void> {
  if (!sudo) return connection.runQuietly(script);
  const ignore = () => {};
  return execOnConnection(connection, script, { onStdout: ignore, onStderr: ignore, signal: AbortSignal.timeout(10_000) }, sudo).then(
    () => undefined,
    () => undefined,
  );
}
