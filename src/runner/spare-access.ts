// A spare way in (runbook `spare_access`): started on a guard's host before the guard arms,
// proved by a login through it over a new connection, handed to the pool for the logins the
// main port does not answer, and stopped after the commit or at the run's end.
import { stripControls } from '../output/neutralize.js';
import { HostReport } from '../remote/host-shell.js';
import { SPARE_FAILURES, spareRunId, spareStartScript, spareStopScript } from '../remote/spare-scripts.js';
import type { SpareAccess } from '../runbook/types.js';
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
  hosts.setSpare?.(host, spare.port);
  return { server, again: started.report.get('again') === 'yes' };
}

/** Stops the spare's listener (a session through it goes on) and takes it from the pool. */
export async function stopSpare(hosts: RemoteHosts, host: string, sessionId: string): Promise<void> {
  hosts.setSpare?.(host, null);
  const runDir = hosts.runDirOf?.(host);
  const stopped = await scriptReport(hosts.exec.bind(hosts), host, spareStopScript(spareRunId(sessionId, host), runDir), AbortSignal.timeout(SPARE_ATTEMPT_MS));
  if (stopped.code !== 0 || !stopped.report) throw new Error(`the spare way in to ${host} could not be stopped: ${stopped.said || `exit ${stopped.code}`}`);
  if (stopped.report.get('alive') === 'yes') throw new Error(`the spare way in to ${host} still runs (pid ${stopped.report.get('pid') ?? '?'})`);
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
