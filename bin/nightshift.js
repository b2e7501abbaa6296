#!/usr/bin/env node
// Checked before anything is loaded: the bundle's dependencies fail obscurely on older Node.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  process.stderr.write(
    `nightshift needs Node 22 or newer; this is Node ${process.versions.node}.\n` +
      'Run it through npm (npm exec nightshift, or the npm scripts), which use the Node 22 the project carries.\n',
  );
  process.exit(2);
}
await import('../dist/nightshift.js');
