import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The rehearsals on virtual machines: one file at a time (each guest takes a whole CPU).
export default defineConfig({
  test: {
    include: ['test/lab/**/*.test.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 15 * 60_000,
    pool: 'forks',
    fileParallelism: false,
    // Every journal a test writes is checked against its schema, strictly (subprocesses inherit it).
    env: { NIGHTSHIFT_CONFIG_DIR: mkdtempSync(path.join(tmpdir(), 'ns-test-config-')), NIGHTSHIFT_JOURNAL_STRICT: '1' },
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-lab-report.json' }]],
  },
});
