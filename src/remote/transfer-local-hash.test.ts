import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashLocalFile } from './transfer-local-hash.js';

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('hashLocalFile', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'ns-local-hash-'));
  // Over three of its 1 MiB reads, so that prefixes fall inside, on and across read boundaries.
  const data = randomBytes(3 * 1024 * 1024 + 777);
  const file = path.join(work, 'data.bin');
  writeFileSync(file, data);

  it('hashes the file and the requested prefixes in one pass, counting the bytes read', async () => {
    const lengths = [0, 1, 1024 * 1024, 1024 * 1024 + 1, 2_500_000, data.length];
    let counted = 0;
    const result = await hashLocalFile(file, { prefixLengths: [...lengths].reverse(), onBytes: (bytes) => (counted += bytes) });
    expect(result.sha256).toBe(sha256(data));
    for (const length of lengths) expect(result.prefixes.get(length), `prefix ${length}`).toBe(sha256(data.subarray(0, length)));
    expect(counted).toBe(data.length);
  });

  it('leaves out prefixes longer than the file', async () => {
    const result = await hashLocalFile(file, { prefixLengths: [data.length + 1] });
    expect(result.prefixes.size).toBe(0);
    expect(result.sha256).toBe(sha256(data));
  });

  it('hashes an empty file', async () => {
    const empty = path.join(work, 'empty');
    writeFileSync(empty, '');
    const result = await hashLocalFile(empty, { prefixLengths: [0] });
    expect(result).toEqual({ sha256: sha256(Buffer.alloc(0)), prefixes: new Map([[0, sha256(Buffer.alloc(0))]]) });
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(hashLocalFile(file, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
