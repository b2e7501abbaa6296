// Loaded with --import into a nightshift process: notes when ssh2 is first required and when
// stdout first gets text holding $LOAD_WATCH_MARK (any text without it), in ms since start,
// and writes both to $LOAD_WATCH_FILE as each comes, so that a killed process leaves them;
// renamed into place, so that a test reading it meanwhile never finds it half written.
import { renameSync, writeFileSync } from 'node:fs';
import Module from 'node:module';

const seen = { ssh2At: null, markAt: null };
const mark = process.env.LOAD_WATCH_MARK ?? '';
const save = () => {
  const file = process.env.LOAD_WATCH_FILE;
  writeFileSync(`${file}.tmp`, JSON.stringify(seen));
  renameSync(`${file}.tmp`, file);
};
const load = Module._load;
Module._load = function (request, ...rest) {
  if (seen.ssh2At === null && (request === 'ssh2' || request.startsWith('ssh2/'))) {
    seen.ssh2At = performance.now();
    save();
  }
  return load.call(this, request, ...rest);
};
const write = process.stdout.write;
process.stdout.write = function (...args) {
  if (seen.markAt === null && String(args[0]).includes(mark)) {
    seen.markAt = performance.now();
    save();
  }
  return write.apply(this, args);
};
save();
