// `npm run build:exe`: nightshift as one executable file that runs without Node installed
// (Node's single executable applications: the runtime's own binary with the bundle and its
// assets inside), and a .deb that installs it. The bundle is the npm package's code, patched
// the same way (scripts/build.mjs), in one ESM file with ssh2 inside; ssh2's native crypto
// binding, built for this runtime, and the shipped runbooks travel as assets
// (src/install/embedded.ts writes them to the user's cache on first use).
//
//   node scripts/build-exe.mjs [--no-deb]     -> build/nightshift, build/nightshift_VERSION_ARCH.deb
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { sharedOptions } from './build.mjs';
import { buildBinding } from './native-crypto.mjs';
import { nodeFlagsOfBin } from './node-flags.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runtime = path.join(root, 'node_modules', 'node', 'bin', 'node');
const out = path.join(root, 'build');
const work = path.join(out, 'exe-work');
const say = (text) => process.stdout.write(`build:exe: ${text}\n`);

// src/remote/ssh2-modules.ts loads ssh2 through a require made by createRequire, which the
// bundler cannot follow; without that line its calls are the bundle's own require, and ssh2
// is carried inside.
const ssh2Inside = {
  name: 'ssh2-inside',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]src[\\/]remote[\\/]ssh2-modules\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const line = 'const require = createRequire(import.meta.url);';
      if (source.split(line).length !== 2) throw new Error(`${args.path} changed: "${line}" is not found once`);
      return { contents: source.replace(line, ''), loader: 'ts' };
    });
    // The binding, from the executable's asset; cpu-features (which only orders ssh2's
    // cipher list) is left out: ssh2 goes without it when it does not load.
    builder.onResolve({ filter: /[\\/]sshcrypto\.node$/ }, () => ({ path: 'sshcrypto.node', namespace: 'embedded-addon' }));
    builder.onLoad({ filter: /.*/, namespace: 'embedded-addon' }, () => ({
      contents: `module.exports = require(${JSON.stringify(path.join(root, 'src', 'install', 'embedded.ts'))}).loadEmbeddedAddon('sshcrypto.node');`,
      loader: 'js',
      resolveDir: root,
    }));
    builder.onResolve({ filter: /^cpu-features$/ }, () => ({ path: 'cpu-features', namespace: 'left-out' }));
    builder.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({
      contents: "throw new Error('cpu-features is not in the executable');",
      loader: 'js',
    }));
  },
};

/** The shipped runbooks as one asset: path below runbooks/ -> mode and contents. */
function runbooksAsset() {
  const files = {};
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      const stat = statSync(file);
      if (stat.isDirectory()) walk(file);
      else files[path.relative(path.join(root, 'runbooks'), file)] = { mode: stat.mode & 0o777, base64: readFileSync(file).toString('base64') };
    }
  };
  walk(path.join(root, 'runbooks'));
  const file = path.join(work, 'runbooks.json');
  writeFileSync(file, JSON.stringify(files));
  return file;
}

async function buildExecutable() {
  if (!existsSync(runtime)) throw new Error('the runtime node_modules/node is not installed: run npm ci first');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const crypto = buildBinding(runtime);
  say(`native crypto: ${crypto}`);
  const binding = path.join(
    path.dirname(fileURLToPath(import.meta.resolve('ssh2/package.json'))),
    'lib',
    'protocol',
    'crypto',
    'build',
    'Release',
    'sshcrypto.node',
  );
  if (!existsSync(binding)) throw new Error(`ssh2's native binding was not built (${crypto}); the executable would encrypt on the slow path`);

  const options = await sharedOptions();
  const main = path.join(work, 'nightshift.mjs');
  await build({
    ...options,
    plugins: [ssh2Inside, ...options.plugins],
    entryPoints: [path.join(root, 'src', 'cli.tsx')],
    outfile: main,
    format: 'esm',
    target: 'node26',
    // ssh2 is carried inside here, and it tells a session channel from its commands by the
    // class's name when a connection ends (lib/utils.js, onCHANNEL_CLOSE): renamed, a helper
    // whose session got no shell crashed the whole run as it left.
    keepNames: true,
    // ssh2's CommonJS expects require, and __dirname (its inlined WebAssembly names a folder
    // it never reads): as a single executable's CommonJS main would have them.
    banner: {
      js: [
        "import { createRequire as __nsCreateRequire } from 'node:module';",
        "import { dirname as __nsDirname } from 'node:path';",
        'const require = __nsCreateRequire(import.meta.url);',
        'const __filename = process.execPath;',
        'const __dirname = __nsDirname(__filename);',
      ].join(' '),
    },
  });

  const executable = path.join(out, 'nightshift');
  const config = {
    main,
    mainFormat: 'module',
    output: executable,
    disableExperimentalSEAWarning: true,
    // As bin/nightshift.js starts the npm package (its first line): memory stays flat under floods of output.
    execArgv: nodeFlagsOfBin(root),
    assets: { 'sshcrypto.node': binding, 'runbooks.json': runbooksAsset() },
  };
  writeFileSync(path.join(work, 'sea.json'), JSON.stringify(config, null, 2));
  const started = Date.now();
  const sea = spawnSync(runtime, ['--build-sea', path.join(work, 'sea.json')], { encoding: 'utf8' });
  if (sea.status !== 0) throw new Error(`node --build-sea failed:\n${sea.stdout}${sea.stderr}`);
  say(`${path.relative(root, executable)}: ${(statSync(executable).size / 2 ** 20).toFixed(0)} MiB, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return executable;
}

/** A .deb holding the executable as /usr/bin/nightshift and the runbooks under /usr/share. */
function buildDeb(executable) {
  const { version, description } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const tree = path.join(work, 'deb');
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(path.join(tree, 'DEBIAN'), { recursive: true });
  mkdirSync(path.join(tree, 'usr', 'bin'), { recursive: true });
  mkdirSync(path.join(tree, 'usr', 'share', 'nightshift'), { recursive: true });
  mkdirSync(path.join(tree, 'usr', 'share', 'doc', 'nightshift'), { recursive: true });
  execFileSync('cp', [executable, path.join(tree, 'usr', 'bin', 'nightshift')]);
  execFileSync('cp', ['-r', path.join(root, 'runbooks'), path.join(tree, 'usr', 'share', 'nightshift', 'runbooks')]);
  execFileSync('cp', [path.join(root, 'README.md'), path.join(tree, 'usr', 'share', 'doc', 'nightshift', 'README.md')]);
  const installedKib = Number(execFileSync('du', ['-sk', path.join(tree, 'usr')], { encoding: 'utf8' }).split('\t')[0]);
  writeFileSync(
    path.join(tree, 'DEBIAN', 'control'),
    [
      'Package: nightshift',
      `Version: ${version}`,
      `Architecture: ${arch}`,
      'Maintainer: nightshift <nightshift@localhost>',
      `Installed-Size: ${installedKib}`,
      // What every run needs on the upgrader's machine: ssh -G resolves hosts as ssh would.
      'Depends: openssh-client',
      'Recommends: fdisk',
      'Section: admin',
      'Priority: optional',
      `Description: ${description}`,
      ' A runbook run over SSH in the terminal, step by step, with the person on site in',
      ' the loop. The package carries its own Node runtime.',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(tree, 'usr', 'bin', 'nightshift'), 0o755);
  const deb = path.join(out, `nightshift_${version}_${arch}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zzstd', '--build', tree, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(tree, { recursive: true, force: true });
  say(`${path.relative(root, deb)}: ${(statSync(deb).size / 2 ** 20).toFixed(0)} MiB`);
}

const executable = await buildExecutable();
if (!process.argv.includes('--no-deb')) buildDeb(executable);
