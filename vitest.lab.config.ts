import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { testConfigDir } from './test/support/test-config-dir.js';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The rehearsals, longest first: two run at a time, each on its own lab (a lab is named after
 * its runbook, so no two files share one), and the longest starting first keeps the two lanes
 * even. Without KVM a guest keeps one CPU busy mostly while it boots; waiting on its console
 * and its SSH leaves the other lane room.
 */
// Measured two at a time: root-image-file 2986 s (2026-12-05); gateway-swap 1560 s,
// jump-via-swap 1091 s, vm-package-update 233 s, reboot-resume 230 s, rehearse-by-hand 43 s,
// lab-teardown 8 s (2026-12-06: the six of `npm test` in 1597 s).
const LONGEST_FIRST = ['root-image-file', 'gateway-swap', 'jump-via-swap', 'vm-package-update', 'reboot-resume', 'rehearse-by-hand', 'lab-teardown'];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const index = LONGEST_FIRST.indexOf(path.basename(file.moduleId).replace(/\.test\.ts$/, ''));
      return index < 0 ? LONGEST_FIRST.length : index;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['test/lab/**/*.test.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 15 * 60_000,
    pool: 'forks',
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
    // Every journal a test writes is checked against its schema, strictly (subprocesses inherit it).
    env: { NIGHTSHIFT_CONFIG_DIR: testConfigDir(), NIGHTSHIFT_JOURNAL_STRICT: '1' },
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-lab-report.json' }]],
  },
});
