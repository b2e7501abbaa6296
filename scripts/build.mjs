// Bundles the CLI into a few ESM files so start-up reads a handful of modules instead of hundreds.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

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

// Ink measures every changed line of every frame with string-width, which segments graphemes
// and tests emoji expressions per character: a third of the full-screen view's CPU in a
// 200-host rollout. Ink and its helpers get src/text/terminal-width.ts instead (the same
// answers, tested against string-width), and line-update takes the shortcut it has for ASCII
// for every line of one-column characters.
const terminalWidth = path.resolve('src/text/terminal-width.ts');
const fasterInkWidths = {
  name: 'faster-ink-widths',
  setup(builder) {
    builder.onResolve({ filter: /^string-width$/ }, (args) =>
      args.importer.includes(`${path.sep}node_modules${path.sep}`) ? { path: terminalWidth } : undefined,
    );
    builder.onLoad({ filter: /[\\/]ink[\\/]build[\\/](line-update|output)\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const patched = args.path.endsWith('line-update.js') ? patchLineUpdate(source) : patchOutput(source);
      return { contents: patched, loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

function replaceOnce(source, from, to, file) {
  if (source.split(from).length !== 2) throw new Error(`ink changed: "${from}" is not found once in ${file}`);
  return source.replace(from, to);
}

function patchLineUpdate(source) {
  const withImport = `import { isOneColumnEach } from ${JSON.stringify(terminalWidth)};\n${source}`;
  return replaceOnce(
    withImport,
    'if (printableAscii.test(previousText) && printableAscii.test(nextText)) {',
    'if (isOneColumnEach(previousText) && isOneColumnEach(nextText)) {',
    'line-update.js',
  );
}

// Ink's caches of line widths and styled characters live one frame, and most of a frame's lines
// were drawn the frame before: each frame also looks in the last one's.
function patchOutput(source) {
  const patched = replaceOnce(source, '    caches = new OutputCaches();', '    caches = cachesForNextFrame();', 'output.js');
  return `${patched}
let lastFrameCaches;
function cachesForNextFrame() {
    const caches = new OutputCaches();
    for (const name of ['widths', 'blockWidths', 'styledChars']) {
        const own = caches[name];
        const before = lastFrameCaches?.[name];
        if (before === undefined) continue;
        // The last frame's lookups stop reaching further back, so only two frames are ever held.
        delete before.get;
        own.get = (key) => {
            let value = Map.prototype.get.call(own, key);
            if (value === undefined) {
                value = Map.prototype.get.call(before, key);
                if (value !== undefined) own.set(key, value);
            }
            return value;
        };
    }
    lastFrameCaches = caches;
    return caches;
}
`;
}

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
  plugins: [withoutInkDevtools, yogaWithoutFetch, fasterInkWidths],
  define: { 'process.env.NODE_ENV': '"production"' },
  banner: {
    js: "import { createRequire as __nsCreateRequire } from 'node:module'; const require = __nsCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
