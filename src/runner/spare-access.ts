// A spare way in (runbook `spare_access`): started on a guard's host before the guard arms,
// proved by a login through it over a new connection, handed to the pool for the logins the
// main port does not answer, and stopped after the commit or at the run's end.
import { stripControls } from '../output/neutralize.js';
import { HostReport } from '../remote/host-shell.js';
import { SPARE_FAILURES, spareRunId, spareStartScript, spareStopScript } from '../remote/spare-scripts.js';
import type { SpareAccess } from '../runbook/types.js';
import { isAbort } from './abortable.js';
import type { RemoteHosts } from './remote-hosts.js';

/** Bound on the proof's login and on a stop. */
const SPARE_ATTEMPT_MS = 20_000;
const PROOF = 'nightshift-spare-ok';

export interface SpareStarted {
  /** "openssh /usr/sbin/sshd" or "dropbear /usr/sbin/dropbear". */
  server: string;
  /** Started by an earlier attempt and still running. */
  again: boolean;
}

/** Starts the spare server (or finds this session's running), proves a login through it, and tells the pool. */
export async function startSpare(hosts: RemoteHosts, host: string, spare: SpareAccess, sessionId: string, signal: AbortSignal): Promise<SpareStarted> {
  const runId = spareRunId(sessionId, host);
  const runDir = hosts.runDirOf?.(host);
  const script = spareStartScript({
    runId,
    port: spare.port,
    lifetimeSeconds: Math.ceil(spare.lifetimeMs / 1000),
    ...(spare.server !== undefined ? { server: spare.server } : {}),
    ...(spare.config !== undefined ? { config: spare.config } : {}),
    ...(runDir !== undefined ? { runDir } : {}),
  });
  const started = await scriptReport(hosts.exec.bind(hosts), host, script, signal);
  if (started.code !== 0 || !started.report) {
    const why = SPARE_FAILURES[started.code ?? -1] ?? `the start script ended with ${started.code}`;
    throw new Error(`the spare way in on port ${spare.port} could not be started: ${why}${started.said ? ` (${started.said})` : ''}`);
  }
  const server = started.report.get('server') ?? '?';
  if (started.report.get('alive') !== 'yes') {
    throw new Error(`the spare way in on port ${spare.port} (${server}) is not running${logOf(started.report)}`);
  }
  let proof = '';
  try {
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(SPARE_ATTEMPT_MS)]);
    const result = await hosts.execOnNewConnection(host, `echo ${PROOF}`, {
      onStdout: (chunk) => (proof += chunk.toString('utf8')),
      onStderr: () => {},
      signal: bounded,
      readyTimeoutMs: SPARE_ATTEMPT_MS,
      port: spare.port,
    });
    if (result.exitCode !== 0 || !proof.includes(PROOF)) throw new Error(`the command there ended with ${result.exitCode}`);
  } catch (error) {
    signal.throwIfAborted();
    await stopSpare(hosts, host, sessionId).catch(() => {});
    throw new Error(`no login got through the spare way in on port ${spare.port} (${server}), so it was stopped again: ${(error as Error).message}`);
  }
  for (const name of spareNames(host, spare)) hosts.setSpare?.(name, spare.port);
  return { server, again: started.report.get('again') === 'yes' };
}

/** The runbook hosts whose logins may go to the spare: its host, then its `also` (the other names of the machine once the block moved its addresses). */
export function spareNames(host: string, spare: Pick<SpareAccess, 'also'> | undefined): string[] {
  return [host, ...(spare?.also ?? [])];
}

export interface SpareStopped {
  /** The name it was stopped through: the host, or one of its `also` (the first that answered and had it). */
  through: string;
  /** false: every name that answered said it has no spare of this session (nothing to stop). */
  found: boolean;
}

/**
 * Stops the spare's listener (a session through it goes on) and takes it from the pool. Tried
 * through the host, then each of `also` in order: the first whose machine holds this
 * session's spare is the one; a name that does not answer is passed over for the next.
 */
export async function stopSpare(hosts: RemoteHosts, host: string, sessionId: string, spare?: Pick<SpareAccess, 'also'>): Promise<SpareStopped> {
  const names = spareNames(host, spare);
  // The folder is the host's: its run_dir, whichever name reaches the machine.
  const script = spareStopScript(spareRunId(sessionId, host), hosts.runDirOf?.(host));
  const unanswered = new Map<string, string>();
  let missing: string | undefined;
  try {
    for (const name of names) {
      let stopped: Awaited<ReturnType<typeof scriptReport>>;
      try {
        stopped = await scriptReport(reach(hosts, name), name, script, AbortSignal.timeout(SPARE_ATTEMPT_MS));
      } catch (error) {
        unanswered.set(name, isAbort(error) ? 'no answer in time' : (error as Error).message);
        continue;
      }
      const via = name !== host ? ` (through ${name})` : '';
      if (stopped.code !== 0 || !stopped.report)
        throw new Error(`the spare way in to ${host}${via} could not be stopped: ${stopped.said || `exit ${stopped.code}`}`);
      // Not on this machine: the name reaches another one (the block has not moved the addresses, or moved them back).
      if (stopped.report.get('missing') === 'yes') {
        missing ??= name;
        continue;
      }
      if (stopped.report.get('alive') === 'yes') throw new Error(`the spare way in to ${host}${via} still runs (pid ${stopped.report.get('pid') ?? '?'})`);
      return { through: name, found: true };
    }
  } finally {
    for (const name of names) hosts.setSpare?.(name, null);
  }
  if (unanswered.size === 0) return { through: missing ?? host, found: false };
  const said = names.map((name) => `${name}: ${unanswered.get(name) ?? 'it is not there'}`);
  throw new Error(`the spare way in to ${host} could not be stopped: ${said.join('; ')}`);
}

/** Over the host's link when it is up, else over a login of its own bounded like the rest (a machine gone from that name is said soon). */
function reach(hosts: RemoteHosts, name: string): RemoteHosts['exec'] {
  if (hosts.states()[name]?.state === 'connected') return hosts.exec.bind(hosts);
  return (host, command, handlers) => hosts.execOnNewConnection(host, command, { ...handlers, readyTimeoutMs: SPARE_ATTEMPT_MS });
}

async function scriptReport(exec: RemoteHosts['exec'], host: string, script: string, signal: AbortSignal) {
  let stdout = '';
  let stderr = '';
  const result = await exec(host, script, {
    onStdout: (chunk) => (stdout += chunk.toString('utf8')),
    onStderr: (chunk) => (stderr += chunk.toString('utf8')),
    signal,
  });
  const said = stripControls(stderr.trim().split('\n').at(-1) ?? '').trim();
  return { code: result.exitCode, report: HostReport.read(stdout), said: said || logLine(stdout) };
}

function logOf(report: HostReport): string {
  const log = report.get('log');
  return log ? `; its log: ${stripControls(log).trim()}` : '';
}

function logLine(stdout: string): string {
  const log = /^log=(.*)$/m.exec(stdout)?.[1];
  return log ? stripControls(log).trim() : '';
}
