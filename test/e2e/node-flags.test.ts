// The V8 flags nightshift's memory figures depend on reach Node however it is started: by the
// program's first line (as the npm package's bin is run), by the npm scripts, and in the
// executable (scripts/build-exe.mjs takes them from that line).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
// @ts-expect-error: a build script without types
import { nodeFlagsOfBin } from '../../scripts/node-flags.mjs';
import { BIN, ROOT } from '../support/cli.js';

const flags: string[] = nodeFlagsOfBin(ROOT);

test('the first line gives a small young generation and no Maglev', () => {
  expect(flags).toEqual(expect.arrayContaining(['--max-semi-space-size=2', '--no-maglev']));
});

test('the npm scripts that start nightshift give the same flags', () => {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const starting = Object.entries(scripts).filter(([, command]) => command.includes('bin/nightshift.js'));
  expect(starting.map(([name]) => name)).toEqual(expect.arrayContaining(['demo', 'nightshift', 'schema']));
  for (const [name, command] of starting)
    expect({ name, command }).toEqual({ name, command: expect.stringContaining(`node ${flags.join(' ')} bin/nightshift.js`) });
});

test('run by its first line, the program gets them from Node', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-node-flags-'));
  try {
    const seen = path.join(dir, 'exec-argv.json');
    const hook = path.join(dir, 'note-flags.mjs');
    writeFileSync(hook, "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.SEEN_FILE, JSON.stringify(process.execArgv));\n");
    // The runtime first on PATH, as for an installed package: /usr/bin/env finds `node` there.
    const version = execFileSync(BIN, ['--version'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, NODE_OPTIONS: `--import=${hook}`, SEEN_FILE: seen },
    });
    expect(version).toMatch(/^nightshift \d+\.\d+\.\d+/);
    expect(JSON.parse(readFileSync(seen, 'utf8'))).toEqual(flags);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
