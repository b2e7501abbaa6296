#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=20
// The flags on the first line: a flood of output makes short-lived strings by the million, and
// a small young generation keeps memory flat (peak 108 MiB instead of 139 MiB for 10 M lines;
// npm run bench). 2 MiB rather than 4: the 10 M-line peak was 111-114 MiB in five runs against
// 115-130, the same 3 M-line wall time, key and fleet figures still met. A rollout's hundreds of hosts change the machine thousands of times, each
// change leaving a snapshot behind: V8 would let the old generation grow up to 4x between full
// collections, and 20% keeps it near what is alive (peak 161 MiB instead of 275 MiB for 200
// hosts in the full-screen view, for 4% more CPU). npm scripts pass them too. They cannot be
// set from here: V8 sizes its heap at start-up.
// Checked before anything is loaded: the bundle's dependencies fail obscurely on older Node.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  process.stderr.write(
    `nightshift needs Node 22 or newer; this is Node ${process.versions.node} (${process.execPath}).\n` +
      'Install a newer Node, or the standalone executable, which carries its own (README: Install).\n',
  );
  process.exit(2);
}
// V8 keeps the bundle's compiled code on disk (in the temporary folder, per Node version):
// later starts skip most of the parsing and compiling.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../dist/nightshift.js');
