// A step that outlives its SSH channel: started detached on the host, its output followed
// from byte offsets counted here, so that after a dropped link exactly the missing bytes
// are asked for again, and its exit status read at the end, all in one channel. The run's folder stays
// on the host until releaseDetachedRun, once the caller has recorded the result: until
// then, following again (after a drop, or a resume) gives the same result, never a second run.
import type { SudoAccess } from './become.js';
import type { Connection } from './connection.js';
import { randomBytes } from 'node:crypto';
import { AttachOutput } from './attach-output.js';
import {
  attachScript,
  FOLLOW_FAILURES,
  HOST_RESTARTED,
  NO_RUN_FOLDER,
  releaseScript,
  START_FAILURES,
  stopScript,
  SYSTEMD_RUN_FAILED,
} from './detached-scripts.js';
import { abortError } from './errors.js';
import { execOnConnection } from './exec.js';
import { stripControls } from '../output/neutralize.js';
import { describeWriteFailure, HostReport } from './host-shell.js';
import type { DetachedRunOptions, ExecResult, KeptInput } from './types.js';

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
      const host = connection.host.name;
      const nonce = randomBytes(12).toString('hex');
      const sudo = access.sudo?.(connection);
      // Without sudo the channel can wait to be told to release the output (one channel fewer).
      const awaitRelease = !sudo && options.onReleasable !== undefined;
      let input: KeptInput | undefined;
      const output = new AttachOutput(
        nonce,
        (chunk) => {
          offsets.out += chunk.length;
          options.onStdout(chunk);
        },
        (startReport) => {
          if (started) return;
          started = true;
          options.onStarted?.();
          noteFolderChoice(host, startReport, options);
        },
      );
      let startSaid = '';
      // Once the report came the step is over: cancelling it then must not cut the channel that waits to release.
      const cancel = new AbortController();
      const onAbort = () => cancel.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const attaching = execOnConnection(
        connection,
        attachScript(runId, started ? undefined : command, offsets, nonce, runDir, awaitRelease),
        {
          onStdout: (chunk) => output.write(chunk),
          onStderr: (chunk) => {
            // Before the begin mark the start's stderr goes to stdout: this is the shell's own.
            if (!output.begun) {
              startSaid += chunk.toString();
              return;
            }
            offsets.err += chunk.length;
            options.onStderr(chunk);
          },
          signal: cancel.signal,
          ...(awaitRelease ? { keepInput: (kept: KeptInput) => (input = kept) } : {}),
        },
        sudo,
      ).finally(() => signal?.removeEventListener('abort', onAbort));
      const first = await Promise.race([attaching.then((attached) => ({ attached })), output.whenReported.then((report) => ({ report }))]);
      if ('report' in first) {
        // The channel stays open, waiting for `release`: the step's cancelling no longer reaches it.
        signal?.removeEventListener('abort', onAbort);
        connection.track(attaching.then(noop, noop));
        const report = HostReport.read(first.report);
        return heldForRelease(input, () => resultOf(host, report!, offsets, options), options);
      }
      const { attached } = first;
      if (!output.begun) throw startFailure(host, attached, `${output.startText}\n${startSaid}`);
      if (attached.exitCode !== 0 && attached.exitCode !== HOST_RESTARTED) {
        const why = FOLLOW_FAILURES[attached.exitCode ?? -1] ?? `the follower ended with ${attached.exitCode ?? attached.signal}`;
        throw new Error(`Could not follow the detached step on ${host}: ${why}.`);
      }
      const report = output.reportText === null ? null : HostReport.read(output.reportText);
      if (!report) throw new Error(`Could not read the exit status of the command on ${host}: the host sent no end mark after its output.`);
      return resultOf(host, report, offsets, options);
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

/** How long a channel that read a result waits to be told to release the run's output. */
const RELEASE_WAIT_MS = 60_000;

const noop = () => {};

/**
 * The result, read while the channel waits on its input: offered for release once the
 * caller has recorded it; a result that is an error, or no word within RELEASE_WAIT_MS,
 * ends the input and leaves the output on the host.
 */
function heldForRelease(input: KeptInput | undefined, result: () => ExecResult, options: DetachedRunOptions): ExecResult {
  let outcome: ExecResult;
  try {
    outcome = result();
  } catch (error) {
    input?.end();
    throw error;
  }
  if (input) {
    const kept = input;
    const timer = setTimeout(() => kept.end(), RELEASE_WAIT_MS);
    timer.unref?.();
    options.onReleasable?.({
      release: () => {
        clearTimeout(timer);
        if (!kept.open) return false;
        kept.write('release\n');
        kept.end();
        return true;
      },
      abandon: () => {
        clearTimeout(timer);
        kept.end();
      },
    });
  }
  return outcome;
}

/** Why the start failed, from its exit status and what it printed (its `skipped=` lines, the host's words). */
function startFailure(host: string, result: ExecResult, said: string): Error {
  const lines = said.split('\n').map((line) => line.trim());
  const skipped = lines.filter((line) => line.startsWith('skipped=')).map((line) => stripControls(line.slice('skipped='.length)).trim());
  const words = lastLine(lines.filter((line) => line !== '' && !/^(skipped|dir|state)=/.test(line)).join('\n'));
  if (result.exitCode === NO_RUN_FOLDER) {
    const why = [...skipped, ...words].join('; ');
    return new Error(
      `Could not run the step detached on ${host}: no run folder could be written there (${why || 'no reason given'}); free some space, or give the host a run_dir in the runbook.`,
    );
  }
  if (result.exitCode === SYSTEMD_RUN_FAILED) {
    return new Error(`Could not run the step detached on ${host}: systemd-run refused to start it (${words[0] ?? 'no reason given'}).`);
  }
  if (result.exitCode !== 0) {
    const why = START_FAILURES[result.exitCode ?? -1] ?? `the start script ended with ${result.exitCode ?? result.signal}${words[0] ? `: ${words[0]}` : ''}`;
    return new Error(`Could not run the step detached on ${host}: ${why}.`);
  }
  return new Error(
    `Could not run the step detached on ${host}: the start script did not run to its end (it printed no begin mark), so whether the command started is unknown.`,
  );
}

/** The start used another folder than the usual one: the upgrader is told where, and why. */
function noteFolderChoice(host: string, startReport: string, options: DetachedRunOptions): void {
  const report = HostReport.read(`${startReport}\nend=ok`);
  const skipped = report?.all('skipped').map((line) => stripControls(line).trim()) ?? [];
  if (report?.get('state') === 'new' && skipped.length > 0) {
    options.onNotice?.(`nightshift: the command runs in ${stripControls(report.get('dir') ?? '?')} on ${host}, since ${skipped.join('; ')}`);
  }
}

/** The exit status once the command ended; a command that left none fails the step saying why. */
function resultOf(host: string, report: HostReport, offsets: { out: number; err: number }, options: DetachedRunOptions): ExecResult {
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
