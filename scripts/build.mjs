// Bundles the CLI into a few ESM files so start-up reads a handful of modules instead of hundreds.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
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

// Chunk names carry content hashes: without a clean folder, old ones pile up.
await rm('dist', { recursive: true, force: true });

await build({
  entryPoints: ['src/cli.tsx'],
  outdir: 'dist',
  entryNames: 'nightshift',
  chunkNames: 'chunks/[name]-[hash]',
  // Commands load their own chunks: --help and lint start without Ink or ssh2.
  splitting: true,
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // NIGHTSHIFT_NO_MINIFY=1 keeps the names, for a CPU profile (node --cpu-prof) that can be read.
  minify: process.env.NIGHTSHIFT_NO_MINIFY !== '1',
  sourcemap: 'linked',
  legalComments: 'none',
  // ssh2 loads optional native bindings by relative path; keep it as a package.
  external: ['ssh2', 'cpu-features'],
  plugins: [withoutInkDevtools, yogaWithoutFetch, fasterInkFrames],
  define: { 'process.env.NODE_ENV': '"production"' },
  banner: {
    js: "import { createRequire as __nsCreateRequire } from 'node:module'; const require = __nsCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
