// Bundles the CLI into one ESM file so start-up reads one module instead of hundreds.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli.tsx'],
  outfile: 'dist/nightshift.js',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  // ssh2 loads optional native bindings by relative path; keep it as a package.
  external: ['ssh2', 'cpu-features', 'react-devtools-core'],
  define: { 'process.env.NODE_ENV': '"production"' },
  banner: {
    js: "import { createRequire as __nsCreateRequire } from 'node:module'; const require = __nsCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
