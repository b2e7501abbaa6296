// A step that outlives its SSH channel: started detached on the host, its output followed
// from byte offsets counted here, so that after a dropped link exactly the missing bytes
// are asked for again, and its exit status collected at the end. The run's folder stays
// on the host until releaseDetachedRun, once the caller has recorded the result: until
// then, attaching again (after a drop, or a resume) gives the same result, never a second run.
import type { Connection } from './connection.js';
import { ATTACH_FAILURES, attachScript, collectScript, releaseScript, stopScript } from './detached-scripts.js';
import { abortError } from './errors.js';
import { execOnConnection } from './exec.js';
import { HostReport } from './host-shell.js';
import type { DetachedRunOptions, ExecResult } from './types.js';

export interface ConnectionAccess {
  /** The host's live connection, logging in if there is none. */
  current(signal?: AbortSignal): Promise<Connection>;
  /** After a drop: logs in again with growing pauses; rejects once the host counts as lost. */
  regain(signal?: AbortSignal): Promise<Connection>;
}

export async function runDetached(access: ConnectionAccess, command: string, options: DetachedRunOptions): Promise<ExecResult> {
  const { runId, signal } = options;
  const offsets = { out: options.from?.out ?? 0, err: options.from?.err ?? 0 };
  let connection = await access.current(signal);
  for (;;) {
    try {
      const attached = await execOnConnection(connection, attachScript(runId, command, offsets), {
        onStdout: (chunk) => {
          offsets.out += chunk.length;
          options.onStdout(chunk);
        },
        onStderr: (chunk) => {
          offsets.err += chunk.length;
          options.onStderr(chunk);
        },
        ...(signal ? { signal } : {}),
      });
      if (attached.exitCode !== 0) {
        const why = ATTACH_FAILURES[attached.exitCode ?? -1] ?? `the follower ended with ${attached.exitCode ?? attached.signal}`;
        throw new Error(`Could not run the step detached on ${connection.host.name}: ${why}.`);
      }
      return { exitCode: await collectStatus(connection, runId, signal) };
    } catch (error) {
      if ((error as Error).name === 'AbortError' || signal?.aborted) {
        if (options.leaveRunning?.()) throw abortError();
        if (connection.isAlive) connection.track(connection.runQuietly(stopScript(runId)));
        else options.onNotice?.(`nightshift: the link to ${connection.host.name} is down: the command could not be stopped there`);
        throw abortError();
      }
      if ((error as Error).name !== 'ConnectionLostError' && connection.isAlive) throw error;
      options.onNotice?.(
        `nightshift: the link to ${connection.host.name} dropped; the command goes on there. Reconnecting to follow it on from byte ${offsets.out} of stdout and ${offsets.err} of stderr`,
      );
      connection = await access.regain(signal);
      options.onNotice?.(`nightshift: reconnected to ${connection.host.name}`);
    }
  }
}

/** The exit status; a command that left none fails the step saying so, as does an answer that did not come to its end. */
async function collectStatus(connection: Connection, runId: string, signal: AbortSignal | undefined): Promise<number> {
  let stdout = '';
  let stderr = '';
  const result = await execOnConnection(connection, collectScript(runId), {
    onStdout: (chunk) => (stdout += chunk.toString('utf8')),
    onStderr: (chunk) => (stderr += chunk.toString('utf8')),
    ...(signal ? { signal } : {}),
  });
  const host = connection.host.name;
  const report = HostReport.read(stdout);
  if (result.exitCode !== 0 || !report) {
    const why = stderr.trim() || (result.exitCode === 0 ? 'the status script printed no end mark' : `exit ${result.exitCode ?? result.signal}`);
    throw new Error(`Could not read the exit status on ${host}: ${why}.`);
  }
  if (report.get('state') === 'gone') throw new Error(`Could not read the exit status on ${host}: the run folder is gone, so what became of the command cannot be told.`);
  const exit = report.get('exit');
  if (exit !== undefined && /^\d+$/.test(exit)) return Number(exit);
  throw new Error(
    `The command on ${host} ended without recording an exit status (its wrapper was killed, by kill -9 or the out-of-memory killer, or the host restarted): whether it did its work is unknown; look on the host.`,
  );
}

/** Once the run's result is recorded: frees its output on the host. Best effort, over a live link only. */
export function releaseDetachedRun(connection: Connection | undefined, runId: string): void {
  if (connection?.isAlive) connection.track(connection.runQuietly(releaseScript(runId)));
}
