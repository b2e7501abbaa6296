// `nightshift check` and the check before a run's first step: every host resolved, logged
// in to (in parallel, a few at a time, through its jump hosts, host keys verified as in a
// run) and probed for what the runbook will need there. Fail closed: a probe counts as
// passed only when its positive answer came back; a needed one without it is a failure.
import type { HostFacts, ProbeRequest, SftpFact } from '../remote/host-probes.js';
import { probeScript, readProbe } from '../remote/host-probes.js';
import type { ExecHandlers, ExecResult, HostKeyInfo, RemoteInteraction, ResolvedHost } from '../remote/types.js';
import type { Runbook } from '../runbook/types.js';
import { hostNeeds, type HostNeeds } from './host-needs.js';

/**
 * Whether an upload to a host without an SFTP server goes over a shell stream instead
 * (transfer.ts). While it does, a missing SFTP server is a note; set false to make it a
 * failure again.
 */
export const UPLOADS_FALL_BACK_TO_SHELL = true;

/** Less free space than this where the run folder goes is a failure for a host that needs one. */
export const MIN_RUN_FOLDER_FREE_KIB = 1024;

export const PROBES = ['login', 'sh', 'sftp', 'sha256', 'setsid', 'systemd', 'sudo', 'runFolder', 'tools'] as const;
export type ProbeName = (typeof PROBES)[number];

/** ✓ found, ✗ needed and missing (or not known), – not needed or not asked. */
export type Mark = 'ok' | 'fail' | 'none';

export interface ProbeVerdict {
  mark: Mark;
  /** What was found, or why it failed: a phrase. */
  text: string;
  /** A – worth showing under the table (an SFTP server missing where uploads go). */
  note?: boolean;
}

export interface HostCheck {
  host: string;
  /** Where the settings led; null when they could not be worked out. */
  resolved: ResolvedHost | null;
  verdicts: Record<ProbeName, ProbeVerdict>;
  /** What the probe found, for --json; null when it did not run to its end. */
  facts: HostFacts | null;
}

export interface CheckReport {
  /** No ✗ anywhere. */
  ok: boolean;
  hosts: HostCheck[];
  /** Hosts not tried: the runbook's own steps make them later (`appears_in`). */
  later: Array<{ host: string; phase: string }>;
}

/** What the check uses of the host pool. */
export interface CheckedPool {
  resolve(host: string): Promise<ResolvedHost>;
  /** Settings of many hosts worked out together beforehand, where that is cheaper. */
  resolveAhead?(hosts: string[]): Promise<void>;
  connect(host: string): Promise<void>;
  exec(host: string, command: string, handlers: ExecHandlers): Promise<ExecResult>;
  probeSftp(host: string, signal?: AbortSignal): Promise<SftpFact>;
  runDirOf(host: string): string | undefined;
}

export interface CheckOptions {
  /** Hosts checked at the same time (default 8, or as many as a rollout of the runbook works on at once). */
  parallel?: number;
  /** Bound on the probe script and the SFTP probe of one host (default 30 s). */
  probeTimeoutMs?: number;
  /**
   * Called once, when the first host's probes are on their way: work that needs no answer
   * from the hosts (loading the run's code) is done while the answers travel.
   */
  whileProbing?: () => void;
}

/** The hosts the check logs in to: all but those the runbook's own steps make later. */
export function hostsCheckedFirst(runbook: Runbook): string[] {
  return Object.keys(runbook.hosts).filter((name) => runbook.hosts[name]!.appearsIn === undefined);
}

export async function checkHosts(runbook: Runbook, pool: CheckedPool, options: CheckOptions = {}): Promise<CheckReport> {
  const needs = hostNeeds(runbook);
  const names = hostsCheckedFirst(runbook);
  const later = Object.values(runbook.hosts).flatMap((host) => (host.appearsIn !== undefined ? [{ host: host.name, phase: host.appearsIn }] : []));
  const timeoutMs = options.probeTimeoutMs ?? 30_000;
  await pool.resolveAhead?.(names);
  let probing = options.whileProbing;
  const probesSent = () => {
    const first = probing;
    probing = undefined;
    // After the requests are written: what runs now fills the wait for their answers.
    if (first) setImmediate(first);
  };
  const results = await inBatches(names, options.parallel ?? checkedAtOnce(runbook), (host) => checkHost(host, needs[host]!, pool, timeoutMs, probesSent));
  return { ok: results.every((result) => PROBES.every((probe) => result.verdicts[probe].mark !== 'fail')), hosts: results, later };
}

/**
 * 8 hosts at a time, or as many as a rollout of the runbook works on at once: its author
 * said how many of its hosts may be busy together, and its hundreds of hosts are checked
 * before the first step.
 */
function checkedAtOnce(runbook: Runbook): number {
  return Math.max(8, ...runbook.phases.map((phase) => phase.fleet?.parallel ?? 0));
}

async function checkHost(host: string, needs: HostNeeds, pool: CheckedPool, timeoutMs: number, probesSent: () => void): Promise<HostCheck> {
  let resolved: ResolvedHost;
  try {
    resolved = await pool.resolve(host);
  } catch (error) {
    return unreached(host, null, { mark: 'fail', text: `its connection settings could not be worked out: ${(error as Error).message}` });
  }
  try {
    await pool.connect(host);
  } catch (error) {
    return unreached(host, resolved, loginVerdict(needs, (error as Error).message));
  }
  const request: ProbeRequest = { tools: needs.tools, sudo: needs.sudo, ...runDirOf(pool, host) };
  // Side by side: each starts a program through the login shell, which can take half a second.
  const probes = Promise.all([runProbe(pool, host, request, timeoutMs), needs.uploads ? probeSftp(pool, host, timeoutMs) : undefined]);
  probesSent();
  const [probe, sftp] = await probes;
  return {
    host,
    resolved,
    facts: probe.facts,
    verdicts: judgeHost(needs, probe, sftp, resolved),
  };
}

function probeSftp(pool: CheckedPool, host: string, timeoutMs: number): Promise<SftpFact> {
  return pool.probeSftp(host, AbortSignal.timeout(timeoutMs)).catch((error: unknown) => ({ available: false as const, error: (error as Error).message }));
}

function runDirOf(pool: CheckedPool, host: string): { runDir?: string } {
  const runDir = pool.runDirOf(host);
  return runDir !== undefined ? { runDir } : {};
}

export interface ProbeOutcome {
  facts: HostFacts | null;
  /** Why there are no facts: the exit status and the first line of stderr, or the error. */
  trouble?: string;
}

async function runProbe(pool: CheckedPool, host: string, request: ProbeRequest, timeoutMs: number): Promise<ProbeOutcome> {
  let stdout = '';
  let stderr = '';
  try {
    const result = await pool.exec(host, probeScript(request), {
      onStdout: (chunk) => void (stdout += chunk.toString()),
      onStderr: (chunk) => void (stderr += chunk.toString()),
      signal: AbortSignal.timeout(timeoutMs),
      // Tool names and run folders: nothing secret, so it goes with the exec request.
      scriptIsPublic: true,
    });
    const facts = readProbe(stdout);
    if (facts) return { facts };
    const said = stderr.split('\n').find((line) => line.trim() !== '');
    const status = result.exitCode !== null ? `exit status ${result.exitCode}` : `signal ${result.signal ?? '?'}`;
    return { facts: null, trouble: `the probe did not run to its end under /bin/sh (${status}${said ? `: ${said.trim()}` : ''})` };
  } catch (error) {
    const aborted = (error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError';
    return { facts: null, trouble: aborted ? `the probe got no answer within ${Math.round(timeoutMs / 1000)} s` : (error as Error).message };
  }
}

/** A failed login: a failure unless the runbook waits for the host before it logs in, or never logs in there. */
export function loginVerdict(needs: HostNeeds, error: string): ProbeVerdict {
  switch (needs.login) {
    case 'now':
      return { mark: 'fail', text: error };
    case 'after-wait':
      return { mark: 'none', note: true, text: `no login now, and none needed yet: step ${needs.waitStep ?? '?'} waits for its SSH first (${error})` };
    case 'none':
      return { mark: 'none', note: true, text: `no login, and none needed: the runbook only waits for ports there (${error})` };
  }
}

function unreached(host: string, resolved: ResolvedHost | null, login: ProbeVerdict): HostCheck {
  const verdicts = Object.fromEntries(PROBES.map((probe) => [probe, { mark: 'none', text: 'not asked: no login' } satisfies ProbeVerdict])) as Record<
    ProbeName,
    ProbeVerdict
  >;
  verdicts.login = login;
  return { host, resolved, verdicts, facts: null };
}

/** The verdicts for a host that was logged in to, from what it needs and what it said. Pure. */
export function judgeHost(needs: HostNeeds, probe: ProbeOutcome, sftp: SftpFact | undefined, resolved: ResolvedHost): Record<ProbeName, ProbeVerdict> {
  const login: ProbeVerdict = { mark: 'ok', text: `${resolved.user}@${resolved.address}:${resolved.port}` };
  const facts = probe.facts;
  const sftpVerdict = judgeSftp(needs, sftp);
  if (!facts) {
    const unknown = (needed: boolean): ProbeVerdict =>
      needed ? { mark: 'fail', text: 'not known: the probe did not run to its end' } : { mark: 'none', text: 'not known' };
    return {
      login,
      sh: { mark: 'fail', text: probe.trouble ?? 'the probe did not run to its end under /bin/sh' },
      sftp: sftpVerdict,
      sha256: unknown(needs.uploads),
      setsid: unknown(needs.detached),
      systemd: unknown(false),
      sudo: unknown(needs.sudo),
      runFolder: unknown(needs.detached),
      tools: unknown(needs.tools.length > 0),
    };
  }
  return {
    login,
    sh: { mark: 'ok', text: '/bin/sh runs scripts' },
    sftp: sftpVerdict,
    sha256: judgeSha256(needs, facts),
    setsid: judgeDetaching(needs, facts),
    systemd: judgeSystemd(facts),
    sudo: judgeSudo(needs, facts),
    runFolder: judgeRunFolder(needs, facts),
    tools: judgeTools(needs, facts),
  };
}

function judgeSftp(needs: HostNeeds, sftp: SftpFact | undefined): ProbeVerdict {
  if (!needs.uploads) return { mark: 'none', text: 'not needed: no uploads to this host' };
  if (sftp?.available) return { mark: 'ok', text: 'an SFTP session opens' };
  const why = sftp ? sftp.error : 'not asked';
  return UPLOADS_FALL_BACK_TO_SHELL
    ? { mark: 'none', note: true, text: `no: uploads will go over a shell stream (the SFTP session failed: ${why})` }
    : { mark: 'fail', text: `no SFTP session (${why}), so uploads cannot go there; enable one in its sshd_config (Subsystem sftp internal-sftp)` };
}

function judgeSha256(needs: HostNeeds, facts: HostFacts): ProbeVerdict {
  if (facts.sha256Tool) return { mark: 'ok', text: facts.sha256Tool };
  return needs.uploads
    ? { mark: 'fail', text: 'none of openssl, sha256sum or shasum is installed, so uploads cannot be verified there; install coreutils or openssl' }
    : { mark: 'none', text: 'none of openssl, sha256sum or shasum (not needed: no uploads)' };
}

function judgeDetaching(needs: HostNeeds, facts: HostFacts): ProbeVerdict {
  if (facts.setsid) return { mark: 'ok', text: 'setsid' };
  if (facts.uid === '0' && facts.systemdRun && facts.systemdRunning) return { mark: 'ok', text: 'no setsid, but systemd-run (as root)' };
  return needs.detached
    ? {
        mark: 'fail',
        text: 'neither setsid nor systemd-run (as root), so detached steps and timed reverts cannot start there; install setsid (util-linux or BusyBox) or give the steps attach: false',
      }
    : { mark: 'none', text: 'no setsid (not needed: no detached steps)' };
}

function judgeSystemd(facts: HostFacts): ProbeVerdict {
  if (facts.systemctl && facts.systemdRunning) return { mark: 'ok', text: 'systemd runs, systemctl is there' };
  return { mark: 'none', text: facts.systemdRunning ? 'systemd runs, but systemctl is missing' : 'systemd is not running' };
}

function judgeSudo(needs: HostNeeds, facts: HostFacts): ProbeVerdict {
  if (!needs.sudo) return { mark: 'none', text: 'not used' };
  switch (facts.sudo) {
    case 'no-password':
      return { mark: 'ok', text: 'sudo without a password' };
    case 'needs-password':
      return { mark: 'ok', text: 'sudo asks for a password: it is asked once, at the start' };
    case 'missing':
      return { mark: 'fail', text: 'sudo is not installed, but the runbook uses become: sudo here' };
    case 'refused':
      return { mark: 'fail', text: 'sudo -n true failed without asking for a password: this login may not use sudo' };
    default:
      return { mark: 'fail', text: 'sudo gave no answer' };
  }
}

function judgeRunFolder(needs: HostNeeds, facts: HostFacts): ProbeVerdict {
  const found = facts.runFolder;
  if (!found) {
    const why = facts.runFolderSkipped.join('; ') || 'no base was reported';
    return needs.detached
      ? { mark: 'fail', text: `no run folder can be made (${why}); give the host a writable run_dir in the runbook` }
      : { mark: 'none', text: `no run folder can be made (${why}; not needed: no detached steps)` };
  }
  if (found.freeKib === null) {
    return needs.detached
      ? { mark: 'fail', text: `${found.base} is writable, but df did not say how much space is free` }
      : { mark: 'none', text: `${found.base} (free space unknown)` };
  }
  const free = `${found.base}, ${kibText(found.freeKib)} free`;
  if (found.freeKib < MIN_RUN_FOLDER_FREE_KIB && needs.detached) {
    return { mark: 'fail', text: `${free}: too little for a step's output; free some space or set run_dir` };
  }
  return { mark: 'ok', text: free };
}

function judgeTools(needs: HostNeeds, facts: HostFacts): ProbeVerdict {
  if (needs.tools.length === 0) return { mark: 'none', text: "the runbook's checks call no commands here" };
  const missing = needs.tools.filter((tool) => !facts.foundTools.includes(tool));
  if (missing.length > 0) return { mark: 'fail', text: `not found on its PATH: ${missing.join(', ')} (called by the runbook's checks)` };
  return { mark: 'ok', text: needs.tools.join(', ') };
}

export function kibText(kib: number): string {
  if (kib >= 1024 ** 2) return `${(kib / 1024 ** 2).toFixed(1)} GiB`;
  if (kib >= 1024) return `${(kib / 1024).toFixed(0)} MiB`;
  return `${kib} KiB`;
}

async function inBatches<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * The questions of a pool that outlives its first front-end: the check before a run asks in
 * plain lines, then the run's own front-end (the full-screen view) takes over.
 */
export class HandOverInteraction implements RemoteInteraction {
  constructor(public to: RemoteInteraction) {}

  confirmUnknownHostKey(key: HostKeyInfo): Promise<boolean> {
    return this.to.confirmUnknownHostKey(key);
  }

  askPassphrase(keyFile: string, retry: boolean): Promise<string | null> {
    return this.to.askPassphrase(keyFile, retry);
  }

  askSudoPassword(host: string, user: string, retry: boolean): Promise<string | null> {
    return this.to.askSudoPassword(host, user, retry);
  }
}

/** The interaction with its questions one after the other: logins in parallel must not ask over each other. */
export function oneQuestionAtATime(interaction: RemoteInteraction): RemoteInteraction {
  let queue: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(ask: () => Promise<T>): Promise<T> => {
    const turn = queue.then(ask, ask);
    queue = turn.catch(() => undefined);
    return turn;
  };
  return {
    confirmUnknownHostKey: (key: HostKeyInfo) => inTurn(() => interaction.confirmUnknownHostKey(key)),
    askPassphrase: (keyFile: string, retry: boolean) => inTurn(() => interaction.askPassphrase(keyFile, retry)),
    askSudoPassword: (host: string, user: string, retry: boolean) => inTurn(() => interaction.askSudoPassword(host, user, retry)),
  };
}
