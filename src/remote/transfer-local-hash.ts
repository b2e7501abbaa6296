// The sha256 of what an upload sends, taken as it goes: the bytes are hashed in offset order
// as their writes leave, so the first byte leaves at once instead of after a whole pass
// over the file. A resumed upload first hashes the part the target already has, to compare
// it with the target's copy, and goes on from that state.
import { createHash, type Hash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { abortError } from './errors.js';

const READ_SIZE = 1024 * 1024;

/** The running hash of the first `length` bytes of the file (fewer when the file is shorter: see `bytes`). */
export async function hashLocalPrefix(
  file: FileHandle,
  length: number,
  options: { signal?: AbortSignal; onBytes?(bytes: number): void } = {},
): Promise<{ hash: Hash; bytes: number }> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(READ_SIZE, Math.max(1, length)));
  let position = 0;
  while (position < length) {
    if (options.signal?.aborted) throw abortError();
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, length - position), position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
    options.onBytes?.(bytesRead);
  }
  return { hash, bytes: position };
}

/** The local file's identity as far as an upload cares: a different one after sending means the bytes sent may be a mix. */
export interface LocalFileState {
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export async function localFileState(file: FileHandle): Promise<LocalFileState> {
  return fileStateOf(await file.stat({ bigint: true }));
}

export function fileStateOf(stats: BigIntStats): LocalFileState {
  return { size: Number(stats.size), mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

/** Throws when the file changed since `before`: the digest of what was sent would vouch for no version of it. */
export async function expectUnchanged(file: FileHandle, localPath: string, before: LocalFileState): Promise<void> {
  const after = await localFileState(file);
  if (after.size === before.size && after.mtimeNs === before.mtimeNs && after.ctimeNs === before.ctimeNs) return;
  throw new Error(
    `The local file ${localPath} changed while it was being uploaded (its ${after.size !== before.size ? 'size' : 'modification time'} moved), ` +
      'so the copy on the host was not put in place; upload it again once it stopped changing.',
  );
}
