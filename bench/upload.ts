// A large upload through nightshift's SFTP path against OpenSSH's sftp, same cipher, same
// file, same sshd; best of two each, alternating.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { HostPool } from '../src/remote/host-pool.js';
import { PART_SUFFIX } from '../src/remote/transfer.js';
import type { BenchContext, Figure } from './figures.js';

const UPLOAD_GOAL = 1.0;

function makeFile(file: string, bytes: number): void {
  const fd = openSync(file, 'w');
  const block = randomBytes(16 * 2 ** 20);
  for (let written = 0; written < bytes; written += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - written));
  closeSync(fd);
}

function sftpUpload(context: BenchContext, local: string, remote: string): number {
  const batch = path.join(context.work, 'sftp-batch');
  writeFileSync(batch, `put ${local} ${remote}\n`);
  const started = performance.now();
  execFileSync(
    'sftp',
    ['-q', '-b', batch, '-F', context.sshConfig, '-o', `UserKnownHostsFile=${context.knownHosts}`, '-o', `Ciphers=${context.cipher}`, 'flood'],
    {
      stdio: 'ignore',
      env: { ...process.env, SSH_AUTH_SOCK: '' },
    },
  );
  return (performance.now() - started) / 1000;
}

async function nightshiftUpload(pool: HostPool, local: string, remote: string): Promise<{ sending: number; whole: number }> {
  let sendingFrom = 0;
  let sendingTo = 0;
  const started = performance.now();
  const inFlight = Number(process.env['BENCH_UPLOAD_IN_FLIGHT'] ?? 0);
  const chunk = Number(process.env['BENCH_UPLOAD_CHUNK'] ?? 0);
  await pool.upload('flood', local, remote, {
    ...(inFlight ? { requestsInFlight: inFlight } : {}),
    ...(chunk ? { chunkSize: chunk } : {}),
    onProgress: (progress) => {
      if (progress.phase === 'sending' && sendingFrom === 0) sendingFrom = performance.now();
      if (progress.phase === 'verifying' && sendingTo === 0) sendingTo = performance.now();
    },
  });
  return { sending: (sendingTo - sendingFrom) / 1000, whole: (performance.now() - started) / 1000 };
}

export async function benchUpload(context: BenchContext, bytes: number): Promise<Figure[]> {
  const local = path.join(context.work, 'upload.bin');
  const remote = path.join(context.work, 'uploaded.bin');
  context.log(`upload: ${bytes / 2 ** 20} MiB of random bytes, cipher ${context.cipher}`);
  makeFile(local, bytes);
  const pool = new HostPool(
    { flood: { name: 'flood', alias: 'flood' } },
    {
      sshConfigFile: context.sshConfig,
      knownHostsFiles: [context.knownHosts],
      env: { ...process.env, SSH_AUTH_SOCK: '' },
      interaction: { confirmUnknownHostKey: async () => false, askPassphrase: async () => null, askSudoPassword: async () => null },
    },
  );
  const sftp: number[] = [];
  const ours: Array<{ sending: number; whole: number }> = [];
  try {
    await pool.connect('flood');
    for (let round = 0; round < 2; round++) {
      rmSync(remote, { force: true });
      sftp.push(sftpUpload(context, local, remote));
      rmSync(remote, { force: true });
      rmSync(`${remote}${PART_SUFFIX}`, { force: true });
      ours.push(await nightshiftUpload(pool, local, remote));
    }
  } finally {
    await pool.close();
    rmSync(local, { force: true });
    rmSync(remote, { force: true });
  }
  const reference = Math.min(...sftp);
  const best = ours.reduce((a, b) => (a.sending <= b.sending ? a : b));
  const mib = bytes / 2 ** 20;
  return [
    {
      name: `upload ${mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`}, sending`,
      value: mib / best.sending,
      unit: 'MiB/s',
      reference: { what: 'sftp', value: mib / reference },
      ratio: reference / best.sending,
      ratioMeaning: "of sftp's speed",
      goal: `>= ${UPLOAD_GOAL}x`,
      met: reference / best.sending >= UPLOAD_GOAL,
      notes: `whole step with both sha256 checks ${best.whole.toFixed(1)} s; sftp ${reference.toFixed(1)} s`,
    },
  ];
}
