#!/usr/bin/env -S node --max-semi-space-size=4
// The flag on the first line: a flood of output makes short-lived strings by the million, and
// a small young generation keeps memory flat (peak 108 MiB instead of 139 MiB for 10 M lines;
// npm run bench). npm scripts pass it too. It cannot be set from here: V8 sizes the young
// generation at start-up.
// Checked before anything is loaded: the bundle's dependencies fail obscurely on older Node.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  process.stderr.write(
    `nightshift needs Node 22 or newer; this is Node ${process.versions.node}.\n` +
      'Run it through npm (npm exec nightshift, or the npm scripts), which use the Node 22 the project carries.\n',
  );
  process.exit(2);
}
// V8 keeps the bundle's compiled code on disk (in the temporary folder, per Node version):
// later starts skip most of the parsing and compiling.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../dist/nightshift.js');
