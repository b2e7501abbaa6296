// The last step of an upload: the partial file is hashed on the target, compared with the
// local digest, and only then moved into place, so a damaged copy never takes the name.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { stripControls } from '../output/neutralize.js';
import { shellQuote } from '../runbook/shell-quote.js';
import type { SudoAccess } from './become.js';
import type { Connection } from './connection.js';
import { execCaptured, execOnConnection } from './exec.js';
import { hashRemoteFile, remoteHashCommand } from './transfer-remote-hash.js';
import type { SftpSession } from './transfer-sftp.js';
import type { UploadOptions, UploadResult } from './transfer-options.js';

/** The target's copy does not hash to what was sent. */
export class UploadVerificationError extends Error {
  override readonly name = 'UploadVerificationError';
  constructor(
    message: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super(message);
  }
}

export interface PlaceOptions {
  partPath: string;
  finalPath: string;
  expectedSha256: string;
  mode?: number;
  signal?: AbortSignal;
}

/**
 * Verifies the partial file on the target and renames it to its final name (replacing what
 * was there), with `mode` applied first. On a mismatch the partial file is removed and an
 * UploadVerificationError names both digests; the final name is left untouched.
 */
export async function verifyAndPlace(connection: Connection, session: SftpSession, options: PlaceOptions): Promise<void> {
  await verifyRemoteCopy(connection, session, options);
  await placeRemoteCopy(connection, session, options);
}

/** Hashes the partial file on the target (`targetHash`, else a command of its own); on a mismatch removes it and throws an UploadVerificationError. */
export async function verifyRemoteCopy(
  connection: Connection,
  session: SftpSession,
  options: PlaceOptions,
  targetHash: () => Promise<string> = () => hashRemoteFile(connection, options.partPath, options.signal ? { signal: options.signal } : {}),
): Promise<void> {
  const actual = await targetHash();
  if (actual === options.expectedSha256) return;
  await session.unlink(options.partPath).catch(() => undefined);
  throw new UploadVerificationError(
    `The copy of ${options.finalPath} on ${connection.host.name} is damaged: its sha256 is ${actual}, the local file's is ` +
      `${options.expectedSha256}; it was not put in place (the partial copy was removed), so upload it again.`,
    options.expectedSha256,
    actual,
  );
}

/** Applies the mode and renames the verified partial file to its final name, replacing what was there. */
export async function placeRemoteCopy(connection: Connection, session: SftpSession, options: PlaceOptions): Promise<void> {
  const { host } = connection;
  if (options.mode !== undefined) await session.chmod(options.partPath, options.mode);
  if (await session.posixRename(options.partPath, options.finalPath)) return;
  // Plain SFTP rename refuses to replace a file; mv does rename(2), which replaces atomically.
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const moved = await execOnConnection(connection, `mv -f -- ${shellQuote(options.partPath)} ${shellQuote(options.finalPath)} && echo moved`, {
    onStdout: (chunk) => stdout.push(chunk),
    onStderr: (chunk) => stderr.push(chunk),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (moved.exitCode !== 0 || Buffer.concat(stdout).toString('utf8').trim() !== 'moved') {
    const said = Buffer.concat(stderr).toString('utf8').trim().split('\n')[0] || `exit status ${moved.exitCode ?? moved.signal}`;
    throw new Error(`Could not move ${options.partPath} to ${options.finalPath} on ${host.name}: ${said}.`);
  }
}

/**
 * `become: sudo`: the file was uploaded (and sha256-checked) as the login user to `stagedPath`
 * in a folder of theirs; as root it is copied beside its final name, hashed again there,
 * given `mode` and root's ownership, and renamed into place (rename(2): atomic, on the same
 * file system), then the staged copy is removed. A copy that does not hash to
 * `expectedSha256` never takes the name.
 */
export async function placeAsRoot(
  connection: Connection,
  options: { stagedPath: string; finalPath: string; expectedSha256: string; mode?: number; signal?: AbortSignal },
  sudo: SudoAccess,
): Promise<void> {
  const { host } = connection;
  const staged = shellQuote(options.stagedPath);
  const final = shellQuote(options.finalPath);
  const part = shellQuote(`${options.finalPath}.nightshift-part`);
  const script = [
    'set -e',
    `cp -- ${staged} ${part}`,
    `sum=$(${remoteHashCommand(`${options.finalPath}.nightshift-part`)})`,
    `case $sum in *${options.expectedSha256}*) ;; *) rm -f -- ${part}; echo "the copy made as root hashes to $sum" >&2; exit 3 ;; esac`,
    `chown 0:0 ${part}`,
    ...(options.mode !== undefined ? [`chmod ${options.mode.toString(8).padStart(4, '0')} ${part}`] : []),
    `mv -f -- ${part} ${final}`,
    `rm -f -- ${staged}`,
    'echo moved',
  ].join('\n');
  const { stdout, stderr, result } = await execCaptured(connection, script, options.signal, sudo);
  if (result.exitCode !== 0 || stdout.trim() !== 'moved') {
    const said = stripControls(stderr.trim().split('\n').at(-1) ?? '').trim() || `exit status ${result.exitCode ?? result.signal}`;
    throw new Error(`Could not put ${options.finalPath} in place as root on ${host.name}: ${said}; the checked copy stays in ${options.stagedPath}.`);
  }
}

/**
 * `become: sudo`: SFTP runs as the login user, who may not write the target folder. The
 * file goes (resumable, sha256-checked) to a folder of the user's own,
 * ~/.cache/nightshift/uploads (0700), under a name fixed by the target path, so a cut
 * upload resumes; then root puts it in place (placeAsRoot).
 */
export async function uploadAsRoot(
  connection: Connection,
  localPath: string,
  remotePath: string,
  options: UploadOptions,
  sudo: SudoAccess,
  send: (connection: Connection, localPath: string, remotePath: string, options: UploadOptions) => Promise<UploadResult>,
): Promise<UploadResult> {
  const finalPath = remotePath.endsWith('/') ? `${remotePath}${path.basename(localPath)}` : remotePath;
  const { stdout, stderr, result } = await execCaptured(
    connection,
    'd="${XDG_CACHE_HOME:-$HOME/.cache}/nightshift/uploads" && mkdir -p "$d" && chmod 700 "$d" && cd "$d" && pwd',
    options.signal,
  );
  const folder = stdout.trim();
  if (result.exitCode !== 0 || !folder.startsWith('/')) {
    throw new Error(
      `Could not make a folder for the upload on ${connection.host.name} as ${sudo.user} (~/.cache/nightshift/uploads): ${stderr.trim().split('\n').at(-1) || `exit status ${result.exitCode ?? result.signal}`}.`,
    );
  }
  const staged = `${folder}/${createHash('sha256').update(finalPath).digest('hex').slice(0, 16)}-${path.basename(finalPath)}`;
  const { mode: _mode, ...sendOptions } = options;
  const sent = await send(connection, localPath, staged, sendOptions);
  await placeAsRoot(
    connection,
    {
      stagedPath: staged,
      finalPath,
      expectedSha256: sent.sha256,
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
    sudo,
  );
  return sent;
}
