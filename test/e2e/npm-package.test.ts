// The npm package as a user gets it: packed, installed into a project of its own (the layout
// npx and a local install make, ssh2 hoisted beside it), then run. Installed offline from
// the npm cache the repo's own install filled, with a lockfile made from the repo's: the test
// reaches no registry.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { converse, freshStateDir, ROOT, typedAnswer } from '../support/cli.js';

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

const repoPackage = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
const repoLock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
// The runtime first on PATH: npm, the package's postinstall and its bin all run on it.
const env = {
  ...process.env,
  PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
  npm_config_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
};

/** Every package the named ones need, as the repo's lockfile resolved them. */
function closure(names: string[]): Record<string, LockEntry> {
  const found: Record<string, LockEntry> = {};
  const visit = (name: string) => {
    const key = `node_modules/${name}`;
    const entry = repoLock.packages[key];
    if (!entry || found[key]) return;
    found[key] = entry;
    for (const dependency of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) visit(dependency);
  };
  for (const name of names) visit(name);
  return found;
}

const dir = mkdtempSync(path.join(tmpdir(), 'ns-npm-package-'));
const project = path.join(dir, 'project');
let tarball = '';
let installLog = '';

beforeAll(() => {
  // Packed as it is built: the suite's build made dist (prepare would rebuild it under the other tests).
  const name = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: ROOT, env, encoding: 'utf8' }).trim();
  tarball = path.join(dir, name);
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  mkdirSync(project, { recursive: true });
  const manifest = { name: 'trying-nightshift', version: '1.0.0', private: true, dependencies: { nightshift: `file:${tarball}` } };
  writeFileSync(path.join(project, 'package.json'), JSON.stringify(manifest));
  const lock = {
    name: manifest.name,
    version: manifest.version,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: manifest.name, version: manifest.version, dependencies: manifest.dependencies },
      'node_modules/nightshift': {
        version: repoPackage.version,
        resolved: `file:${tarball}`,
        integrity,
        hasInstallScript: true,
        dependencies: repoPackage.dependencies,
        bin: { nightshift: 'bin/nightshift.js' },
        engines: { node: '>=22' },
      },
      ...closure(Object.keys(repoPackage.dependencies)),
    },
  };
  writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const install = spawnSync('npm', ['ci', '--foreground-scripts'], { cwd: project, env, encoding: 'utf8' });
  installLog = `${install.stdout}${install.stderr}`;
  if (install.status !== 0) throw new Error(`npm ci of the packed nightshift failed:\n${installLog}`);
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bin = () => path.join(project, 'node_modules', '.bin', 'nightshift');

describe('the npm package, installed', () => {
  it('brings only what the bundle loads: ssh2 and what ssh2 needs, nothing the bundle already holds', () => {
    const installed = readdirSync(path.join(project, 'node_modules')).filter((name) => !name.startsWith('.'));
    const expected = ['nightshift', ...Object.keys(closure(Object.keys(repoPackage.dependencies))).map((key) => key.replace('node_modules/', ''))];
    expect(installed.sort()).toEqual([...new Set(expected)].sort());
    for (const bundled of ['ink', 'react', 'xstate', 'zod', 'yaml', 'chalk', 'conf']) expect(installed).not.toContain(bundled);
  });

  it('builds ssh2 native crypto for the Node it runs on, and says so with the version it was built from', () => {
    expect(installLog).toMatch(/native crypto: ssh2's binding built for the runtime, Node v\d+/);
    const result = spawnSync(bin(), ['--version'], { env, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^nightshift ${repoPackage.version.replaceAll('.', '\\.')} \\(commit [0-9a-f]{12}(\\+changes)?\\)\\n`));
    expect(result.stdout).toContain(`ssh crypto: ssh2's native binding (Node ${process.version})`);
  });

  it('lints the runbooks it ships and runs the demo to the end in plain mode', async () => {
    const runbooks = path.join(project, 'node_modules', 'nightshift', 'runbooks');
    const lint = spawnSync(bin(), ['lint', path.join(runbooks, 'gateway-swap.yaml')], { env, encoding: 'utf8' });
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    const run = converse(['demo', '--plain'], (line) => typedAnswer(line), { ...env, NIGHTSHIFT_STATE_DIR: freshStateDir() } as Record<string, string>, [
      bin(),
    ]);
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    expect(run.lines.join('\n')).toMatch(/run completed$/m);
  }, 120_000);
});
