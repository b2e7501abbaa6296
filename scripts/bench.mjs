// Bundles bench/run.ts (with the test harness it uses) and runs it on the project's Node.
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';

await build({
  entryPoints: ['bench/run.ts'],
  outfile: '.tmp/bench/run.mjs',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
});
const result = spawnSync(process.execPath, ['.tmp/bench/run.mjs', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
