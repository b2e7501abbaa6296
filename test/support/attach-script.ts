// For tests: the attach script of a detached step (src/remote/detached-scripts.ts) run by the
// real /bin/sh on this machine, its stdout split as runDetached splits it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AttachOutput } from '../../src/remote/attach-output.js';
import { attachScript } from '../../src/remote/detached-scripts.js';
import { HostReport } from '../../src/remote/host-shell.js';

export interface Attached {
  /** The command's stdout and stderr from the offsets. */
  out: string;
  err: string;
  code: number | null;
  /** The start's report (`state=`, `dir=`, `skipped=`), or null when the begin mark never came. */
  start: HostReport | null;
  /** The run's report after the end mark, or null when it never came. */
  report: HostReport | null;
}

export interface AttachRequest {
  runId: string;
  /** Absent: the run is only followed, never started. */
  command?: string;
  offsets?: { out: number; err: number };
  runDir?: string;
}

/** Starts the script in a process group of its own; `attached` once it ended. */
export function spawnAttach(request: AttachRequest, env: NodeJS.ProcessEnv) {
  const nonce = randomBytes(12).toString('hex');
  const script = attachScript(request.runId, request.command, request.offsets ?? { out: 0, err: 0 }, nonce, request.runDir);
  const child = spawn('/bin/sh', ['-c', script], { env, detached: true });
  let out = '';
  let err = '';
  let start: HostReport | null = null;
  let markBegun: () => void = () => {};
  const begun = new Promise<void>((resolve) => (markBegun = resolve));
  const output = new AttachOutput(
    nonce,
    (chunk) => (out += chunk.toString()),
    (report) => {
      start = HostReport.read(`${report}\nend=ok`);
      markBegun();
    },
  );
  child.stdout.on('data', (chunk: Buffer) => output.write(chunk));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const attached = new Promise<Attached>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const text = output.reportText;
      resolve({ out, err, code, start, report: text === null ? null : HostReport.read(text) });
    });
  });
  /** Kills the script and what it started in its group, as a dropped link would; the detached command goes on. */
  const cut = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // ended already
    }
  };
  return { attached, begun, cut };
}

export function runAttach(request: AttachRequest, env: NodeJS.ProcessEnv): Promise<Attached> {
  return spawnAttach(request, env).attached;
}

/** Starts the command detached and leaves it running, the follow cut once the start has reported. */
export async function startDetachedHere(request: AttachRequest & { command: string }, env: NodeJS.ProcessEnv): Promise<HostReport | null> {
  const attach = spawnAttach(request, env);
  await Promise.race([attach.begun, attach.attached]);
  attach.cut();
  const ended = await attach.attached;
  return ended.start;
}

/** Following again from past the end: only the run's report, as after a lost answer. */
export async function reportOf(runId: string, env: NodeJS.ProcessEnv, runDir?: string): Promise<HostReport | null> {
  const huge = 1e12;
  const attached = await runAttach({ runId, offsets: { out: huge, err: huge }, ...(runDir !== undefined ? { runDir } : {}) }, env);
  return attached.report;
}
