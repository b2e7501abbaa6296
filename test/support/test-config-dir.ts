// The preferences the tests' runs write (NIGHTSHIFT_CONFIG_DIR): never the real user's, in a
// folder of the test run's own that goes when it ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function testConfigDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-test-config-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
