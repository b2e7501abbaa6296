import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { fileErrorText } from './file-error.js';

test('a file system error loses the system call and the path Node appends, and keeps what went wrong', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-file-error-'));
  try {
    let thrown: unknown;
    try {
      openSync(dir, 'w');
    } catch (error) {
      thrown = error;
    }
    expect((thrown as Error).message).toContain(`, open '${dir}'`);
    expect(fileErrorText(thrown)).toBe('EISDIR: illegal operation on a directory');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(fileErrorText(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))).toBe('ENOSPC: no space left on device');
  expect(fileErrorText('not an error')).toBe('not an error');
});
