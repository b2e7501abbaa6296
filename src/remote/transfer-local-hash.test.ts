import { createHash, randomBytes } from 'node:crypto';
import { utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectUnchanged, hashLocalPrefix, localFileState } from './transfer-local-hash.js';
import { scratchFolders } from '../../test/support/scratch-folder.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('hashLocalPrefix', () => {
  const work = scratch('ns-local-hash-');
  // Over three of its 1 MiB reads, so that prefixes end inside, on and across read boundaries.
  const data = randomBytes(3 * 1024 * 1024 + 777);
  const file = path.join(work, 'data.bin');
  writeFileSync(file, data);

  it('hashes the first N bytes, counting them, and the hash goes on from there', async () => {
    const handle = await open(file);
    try {
      for (const length of [0, 1, 1024 * 1024, 1024 * 1024 + 1, 2_500_000, data.length]) {
        let counted = 0;
        const { hash, bytes } = await hashLocalPrefix(handle, length, { onBytes: (n) => (counted += n) });
        expect(bytes).toBe(length);
        expect(counted).toBe(length);
        expect(hash.copy().digest('hex'), `prefix ${length}`).toBe(sha256(data.subarray(0, length)));
        expect(hash.update(data.subarray(length)).digest('hex')).toBe(sha256(data));
      }
    } finally {
      await handle.close();
    }
  });

  it('stops at the end of a file shorter than asked, and says how much it read', async () => {
    const handle = await open(file);
    try {
      const { hash, bytes } = await hashLocalPrefix(handle, data.length + 1);
      expect(bytes).toBe(data.length);
      expect(hash.digest('hex')).toBe(sha256(data));
    } finally {
      await handle.close();
    }
  });

  it('stops when aborted', async () => {
    const handle = await open(file);
    const controller = new AbortController();
    controller.abort();
    await expect(hashLocalPrefix(handle, 10, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await handle.close();
  });
});

describe('expectUnchanged', () => {
  const work = scratch('ns-local-state-');

  it('passes for an untouched file and refuses one rewritten with the same size or with another size', async () => {
    const file = path.join(work, 'image.bin');
    writeFileSync(file, 'version one');
    const handle = await open(file);
    try {
      const before = await localFileState(handle);
      await expect(expectUnchanged(handle, file, before)).resolves.toBeUndefined();
      writeFileSync(file, 'version two');
      // The same size and, set back, the same modification time: the change time still moved.
      utimesSync(file, 1_700_000_000, 1_700_000_000);
      await expect(expectUnchanged(handle, file, before)).rejects.toThrow(`The local file ${file} changed while it was being uploaded`);
      const rewritten = await localFileState(handle);
      writeFileSync(file, 'version three, longer');
      await expect(expectUnchanged(handle, file, rewritten)).rejects.toThrow('(its size moved)');
    } finally {
      await handle.close();
    }
  });
});
