// Bundles the CLI into a few ESM files so start-up reads a handful of modules instead of hundreds.
import { execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { fasterInkFrames } from './ink-patches.mjs';

// Ink loads its React DevTools bridge only when DEV=true; the bundle leaves it out rather
// than turning its optional import into a hard one.
const withoutInkDevtools = {
  name: 'without-ink-devtools',
  setup(builder) {
    builder.onResolve({ filter: /^\.\/devtools\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}ink${path.sep}`) ? { path: 'ink-devtools', namespace: 'left-out' } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({ contents: '', loader: 'js' }));
  },
};

// Yoga (Ink's layout engine) fetches its inlined WebAssembly from a data: URL when fetch
// exists, which loads Node's whole fetch implementation at start-up; without fetch it decodes
// the same bytes itself. Measured: 20-30 ms less to the first frame.
const yogaWithoutFetch = {
  name: 'yoga-without-fetch',
  setup(builder) {
    builder.onLoad({ filter: /yoga-layout[\\/]dist[\\/]binaries[\\/]yoga-wasm-base64-esm\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const patched = source.replaceAll('"function"!=typeof fetch', '!0');
      if (patched === source) throw new Error(`yoga-layout changed: no fetch check found in ${args.path}`);
      return { contents: patched, loader: 'js' };
    });
  },
};

/** The commit the bundle is built from; `+changes` when the working tree differs from it. */
function commit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return changed ? `${head}+changes` : head;
  } catch {
    return 'unknown (built outside git)';
  }
}

/** What every bundle shares, the npm package's and the executable's: the same code, patched the same way. */
export async function sharedOptions() {
  const stamp = { version: JSON.parse(await readFile('package.json', 'utf8')).version, commit: commit() };
  return {
    bundle: true,
    platform: 'node',
    // NIGHTSHIFT_NO_MINIFY=1 keeps the names, for a CPU profile (node --cpu-prof) that can be read.
    minify: process.env.NIGHTSHIFT_NO_MINIFY !== '1',
    legalComments: 'none',
    plugins: [withoutInkDevtools, yogaWithoutFetch, fasterInkFrames],
    define: { 'process.env.NODE_ENV': '"production"', NIGHTSHIFT_BUILD: JSON.stringify(stamp) },
    logLevel: 'warning',
  };
}

async function buildPackage() {
  // Chunk names carry content hashes: without a clean folder, old ones pile up.
  await rm('dist', { recursive: true, force: true });
  await build({
    ...(await sharedOptions()),
    entryPoints: ['src/cli.tsx'],
    outdir: 'dist',
    entryNames: 'nightshift',
    chunkNames: 'chunks/[name]-[hash]',
    // Commands load their own chunks: --help and lint start without Ink or ssh2.
    splitting: true,
    target: 'node22',
    format: 'esm',
    sourcemap: 'linked',
    // ssh2 loads optional native bindings by relative path; keep it as a package.
    external: ['ssh2', 'cpu-features'],
    banner: {
      js: "import { createRequire as __nsCreateRequire } from 'node:module'; const require = __nsCreateRequire(import.meta.url);",
    },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildPackage();
