#!/usr/bin/env -S node --max-semi-space-size=2
// The flag on the first line: a flood of output makes short-lived strings by the million, and
// a small young generation keeps memory flat (peak 108 MiB instead of 139 MiB for 10 M lines;
// npm run bench). 2 MiB rather than 4: the 10 M-line peak was 111-114 MiB in five runs against
// 115-130, the same 3 M-line wall time, key and fleet figures still met. npm scripts pass it
// too, and the executable takes it from this line. It cannot be set from here: V8 sizes its
// heap at start-up. How far the old generation may grow is set once a run is under way
// (src/cli/heap-growth.ts); Maglev is turned off as the program starts (src/cli/no-maglev.ts).
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
