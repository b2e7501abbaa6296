import { defineConfig } from 'vitest/config';
import { testConfigDir } from './test/support/test-config-dir.js';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'test/**/*.test.tsx'],
    // The rehearsals on virtual machines have their own run (vitest.lab.config.ts).
    exclude: ['test/lab/**', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Runs remember their sessions in the preferences: never in the real user's.
    // Every journal a test writes is checked against its schema, strictly (subprocesses inherit it).
    env: { NIGHTSHIFT_CONFIG_DIR: testConfigDir(), NIGHTSHIFT_JOURNAL_STRICT: '1' },
    // The JSON report is what .ci/run counts; the default reporter is for people.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]],
  },
});
