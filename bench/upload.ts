// A 1 GiB `upload:` step as the user waits for it: `nightshift run` of a one-step runbook,
// from its start to its exit (login, sending, the target's sha256 check, the rename),
// against `sftp -b` putting the same file with the same cipher, its login included.
// Alternating rounds, median of each.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { percentile, type BenchContext, type Figure } from './figures.js';
import { runMeasured } from './measured.js';
import { MemoryWatch, PtyProgram } from './pty.js';

const UPLOAD_GOAL = 1.0;
const UPLOAD_MEMORY_GOAL_MIB = 120;
const ROUNDS = 3;
const TIMEOUT_MS = 10 * 60_000;

function makeFile(file: string, bytes: number): void {
  const fd = openSync(file, 'w');
  const block = randomBytes(16 * 2 ** 20);
  for (let written = 0; written < bytes; written += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - written));
  closeSync(fd);
}

function expectArrived(who: string, remote: string, bytes: number): void {
  const size = statSync(remote, { throwIfNoEntry: false })?.size;
  if (size !== bytes) throw new Error(`${who}: ${remote} has ${size ?? 'no'} bytes after the upload, not ${bytes}`);
}

/** Where an upload goes: an alias of an ssh_config, with its known_hosts. */
export interface UploadTarget {
  sshConfig: string;
  knownHosts: string;
  alias: string;
}

async function sftpUpload(context: BenchContext, target: UploadTarget, local: string, remote: string, bytes: number): Promise<number> {
  const batch = path.join(context.work, 'sftp-batch');
  writeFileSync(batch, `put ${local} ${remote}\n`);
  const run = await runMeasured(
    ['sftp', '-q', '-b', batch, '-F', target.sshConfig, '-o', `UserKnownHostsFile=${target.knownHosts}`, '-o', `Ciphers=${context.cipher}`, target.alias],
    { timeoutMs: TIMEOUT_MS },
  );
  if (run.code !== 0) throw new Error(`sftp exited with ${run.code}:\n${run.tail}`);
  expectArrived('sftp', remote, bytes);
  return run.seconds;
}

async function nightshiftUpload(
  context: BenchContext,
  target: UploadTarget,
  runbook: string,
  remote: string,
  bytes: number,
): Promise<{ seconds: number; peakMiB: number }> {
  const run = await runMeasured([context.bin, 'run', runbook, '--plain', '--ssh-config', target.sshConfig, '--known-hosts', target.knownHosts], {
    cwd: context.root,
    env: { NIGHTSHIFT_STATE_DIR: mkdtempSync(path.join(context.work, 'state-')) },
    timeoutMs: TIMEOUT_MS,
  });
  if (run.code !== 0) throw new Error(`nightshift run --plain (upload) exited with ${run.code}:\n${run.tail}`);
  expectArrived('nightshift', remote, bytes);
  return run;
}

/** The files of an upload figure: `bytes` of random data, where it goes, and a one-step runbook that puts it there. */
interface UploadFiles {
  local: string;
  remote: string;
  runbook: string;
}

async function withUploadFiles<T>(context: BenchContext, target: UploadTarget, bytes: number, body: (files: UploadFiles) => Promise<T>): Promise<T> {
  const files = {
    local: path.join(context.work, 'upload.bin'),
    remote: path.join(context.work, 'uploaded.bin'),
    runbook: path.join(context.work, 'upload.yaml'),
  };
  writeFileSync(
    files.runbook,
    `name: Upload\nhosts:\n  ${target.alias}: {}\nphases:\n  - name: one\n    steps:\n      - upload: ${JSON.stringify(files.local)}\n        to: ${JSON.stringify(files.remote)}\n        host: ${target.alias}\n`,
  );
  makeFile(files.local, bytes);
  try {
    return await body(files);
  } finally {
    rmSync(files.local, { force: true });
    rmSync(files.remote, { force: true });
  }
}

/**
 * `bytes` of random data put by `sftp -b` and by a one-step `upload:` runbook, `rounds`
 * times each, alternating; the figure compares the medians, as the user waits for each.
 */
export async function compareUploads(context: BenchContext, target: UploadTarget, bytes: number, rounds: number, name: string): Promise<Figure> {
  const sftp: number[] = [];
  const ours: Array<{ seconds: number; peakMiB: number }> = [];
  await withUploadFiles(context, target, bytes, async ({ local, remote, runbook }) => {
    for (let round = 0; round < rounds; round++) {
      rmSync(remote, { force: true });
      sftp.push(await sftpUpload(context, target, local, remote, bytes));
      rmSync(remote, { force: true });
      ours.push(await nightshiftUpload(context, target, runbook, remote, bytes));
    }
  });
  const reference = percentile(sftp, 50);
  const value = percentile(
    ours.map((run) => run.seconds),
    50,
  );
  const mib = bytes / 2 ** 20;
  const seconds = (list: number[]) => list.map((s) => s.toFixed(1)).join(' ');
  return {
    name,
    value: mib / value,
    unit: 'MiB/s',
    reference: { what: 'sftp', value: mib / reference },
    ratio: reference / value,
    ratioMeaning: "of sftp's speed",
    goal: `>= ${UPLOAD_GOAL}x`,
    met: reference / value >= UPLOAD_GOAL,
    notes:
      `${mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`}, start to exit, login included, median of ${rounds}; ` +
      `nightshift ${seconds(ours.map((run) => run.seconds))} s (with the target's sha256 check), sftp ${seconds(sftp)} s; ` +
      `peak memory ${Math.max(...ours.map((run) => run.peakMiB)).toFixed(0)} MiB`,
  };
}

/** The peak memory of the full-screen view while it runs the same upload step, as a user watching it would. */
async function uploadOnScreen(context: BenchContext, target: UploadTarget, bytes: number, size: string): Promise<Figure> {
  const peaks = await withUploadFiles(context, target, bytes, async ({ remote, runbook }) => {
    const peaks: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      rmSync(remote, { force: true });
      const program = new PtyProgram(`${context.bin} run ${runbook} --ssh-config ${target.sshConfig} --known-hosts ${target.knownHosts}`, {
        cwd: context.root,
        env: { NIGHTSHIFT_STATE_DIR: mkdtempSync(path.join(context.work, 'state-')), SSH_AUTH_SOCK: '' },
      });
      const memory = new MemoryWatch(program, 100);
      try {
        await program.next('The run completed', TIMEOUT_MS).finally(() => memory.stop());
        program.type('q');
        const code = await program.exited;
        if (code !== 0) throw new Error(`nightshift (full-screen upload) exited with ${code}`);
        expectArrived('nightshift (full-screen)', remote, bytes);
        peaks.push(memory.peakMiB);
      } finally {
        program.kill();
      }
    }
    return peaks;
  });
  const peak = Math.max(...peaks);
  return {
    name: `peak memory, ${size} upload in the full-screen view`,
    value: peak,
    unit: 'MiB',
    goal: `<= ${UPLOAD_MEMORY_GOAL_MIB} MiB`,
    met: peak <= UPLOAD_MEMORY_GOAL_MIB,
    notes: `the highest of ${ROUNDS} runs: ${peaks.map((each) => each.toFixed(0)).join(', ')} MiB`,
  };
}

export async function benchUpload(context: BenchContext, bytes: number): Promise<Figure[]> {
  context.log(`upload: ${bytes / 2 ** 20} MiB of random bytes, cipher ${context.cipher}, ${ROUNDS} rounds each`);
  const mib = bytes / 2 ** 20;
  const size = mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`;
  const target = { sshConfig: context.sshConfig, knownHosts: context.knownHosts, alias: 'flood' };
  const speed = await compareUploads(context, target, bytes, ROUNDS, `upload ${size}, whole step`);
  context.log(`upload: the same step in the full-screen view, ${ROUNDS} runs, peak memory`);
  return [speed, await uploadOnScreen(context, target, bytes, size)];
}
