// The V8 settings nightshift's memory figures depend on reach V8 however it is started: the
// flags of the program's first line (as the npm package's bin is run), the npm scripts (the
// executable takes the first line's flags: scripts/build-exe.mjs), and Maglev turned off as
// the program starts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
// @ts-expect-error: a build script without types
import { nodeFlagsOfBin } from '../../scripts/node-flags.mjs';
import { BIN, ROOT } from '../support/cli.js';

const flags: string[] = nodeFlagsOfBin(ROOT);

// Notes Node's flags as the program starts, and at its exit whether V8 would still compile with Maglev.
const HOOK = `import { writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
setFlagsFromString('--allow-natives-syntax');
const maglevOn = new Function('return %IsMaglevEnabled()');
const atStart = maglevOn();
process.on('exit', () => writeFileSync(process.env.SEEN_FILE, JSON.stringify({ execArgv: process.execArgv, atStart, atExit: maglevOn() })));
`;

test('the first line gives a small young generation', () => {
  expect(flags).toContain('--max-semi-space-size=2');
});

test('the npm scripts that start nightshift give the same flags', () => {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const starting = Object.entries(scripts).filter(([, command]) => command.includes('bin/nightshift.js'));
  expect(starting.map(([name]) => name)).toEqual(expect.arrayContaining(['demo', 'nightshift', 'schema']));
  for (const [name, command] of starting)
    expect({ name, command }).toEqual({ name, command: expect.stringContaining(`node ${flags.join(' ')} bin/nightshift.js`) });
});

test('run by its first line, the program gets the flags from Node and turns Maglev off', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-node-flags-'));
  try {
    const seen = path.join(dir, 'seen.json');
    const hook = path.join(dir, 'note-flags.mjs');
    writeFileSync(hook, HOOK);
    // The runtime first on PATH, as for an installed package: /usr/bin/env finds `node` there.
    const version = execFileSync(BIN, ['--version'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, NODE_OPTIONS: `--import=${hook}`, SEEN_FILE: seen },
    });
    expect(version).toMatch(/^nightshift \d+\.\d+\.\d+/);
    expect(JSON.parse(readFileSync(seen, 'utf8'))).toEqual({ execArgv: flags, atStart: true, atExit: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
