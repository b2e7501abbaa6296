// The flags bin/nightshift.js gives Node on its first line (`#!/usr/bin/env -S node FLAGS`): the
// executable starts with the same ones, and a test holds the npm scripts to them.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const SHEBANG = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)$/;

/** @param {string} root the project's folder */
export function nodeFlagsOfBin(root) {
  const first = readFileSync(path.join(root, 'bin/nightshift.js'), 'utf8').split('\n', 1)[0];
  const match = SHEBANG.exec(first);
  if (!match) throw new Error(`bin/nightshift.js: its first line is not \`#!/usr/bin/env -S node --FLAG...\`: ${first}`);
  return match[1].split(' ').filter((flag) => flag !== '');
}
