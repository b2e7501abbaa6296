// sha256 of a local file in one pass, with the digests of chosen prefixes taken on the way
// (a resumed upload compares the target's partial file against one of them).
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { abortError } from './errors.js';

const READ_SIZE = 1024 * 1024;

export interface LocalHashes {
  sha256: string;
  /** Digest of the first N bytes, for each requested N that is within the file. */
  prefixes: Map<number, string>;
}

export async function hashLocalFile(
  path: string,
  options: { prefixLengths?: number[]; signal?: AbortSignal; onBytes?(bytes: number): void } = {},
): Promise<LocalHashes> {
  const pending = [...new Set(options.prefixLengths ?? [])].sort((a, b) => a - b);
  const prefixes = new Map<number, string>();
  const hash = createHash('sha256');
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_SIZE);
    let position = 0;
    for (;;) {
      if (options.signal?.aborted) throw abortError();
      takePrefixes(pending, position, hash, prefixes);
      // Stop exactly at the next prefix boundary so that its digest can be taken.
      const boundary = pending[0];
      const want = boundary === undefined ? READ_SIZE : Math.min(READ_SIZE, boundary - position);
      const { bytesRead } = await file.read(buffer, 0, want, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
      options.onBytes?.(bytesRead);
    }
    return { sha256: hash.digest('hex'), prefixes };
  } finally {
    await file.close();
  }
}

function takePrefixes(pending: number[], position: number, hash: Hash, prefixes: Map<number, string>): void {
  while (pending[0] !== undefined && pending[0] <= position) {
    const length = pending.shift() as number;
    if (length === position) prefixes.set(length, hash.copy().digest('hex'));
  }
}
