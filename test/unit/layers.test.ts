// The layers of docs/architecture.md, read from the source: the runbook and the engine stay
// pure (no terminal, no SSH, nothing outside themselves), and nothing the screen loads at
// start brings ssh2 in with it (it is loaded with the first login).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/**
 * What a module loads when it is loaded: static imports and re-exports, not `import type` nor
 * `import()`; and a package loaded with require() (src/remote/ssh2.ts loads ssh2 so).
 */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    if (!match[1]) specifiers.push(match[2]!);
  }
  for (const match of text.matchAll(/\brequire\(\s*['"]([^'"./][^'"]*)['"]\s*\)/g)) {
    specifiers.push(match[1]!.startsWith('@') ? match[1]!.split('/').slice(0, 2).join('/') : match[1]!.split('/')[0]!);
  }
  return specifiers;
}

/** Every local module a file names, `import type` included: what a reader must open to follow it. */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.[^'"]+)['"]/gm)].map((match) => match[1]!);
  return specifiers.map((specifier) => resolveLocal(file, specifier));
}

/** An import circle in `files` (each file then the one it imports), or null when there is none. */
function importCircle(files: string[]): string[] | null {
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (file: string): string[] | null => {
    const at = onPath.indexOf(file);
    if (at >= 0) return [...onPath.slice(at), file];
    if (done.has(file)) return null;
    onPath.push(file);
    for (const next of localImports(file)) {
      const circle = visit(next);
      if (circle) return circle;
    }
    onPath.pop();
    done.add(file);
    return null;
  };
  for (const file of files) {
    const circle = visit(file);
    if (circle) return circle;
  }
  return null;
}

function resolveLocal(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')]) {
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // try the next form
    }
  }
  throw new Error(`${path.relative(SRC, from)} imports ${specifier}, which does not resolve`);
}

/** Every module loaded with `file`, and which package each brings in (by the first file that does). */
function closure(file: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (current: string) => {
    if (files.has(current)) return;
    files.add(current);
    for (const specifier of runtimeImports(current)) {
      if (specifier.startsWith('.')) visit(resolveLocal(current, specifier));
      else if (!packages.has(specifier)) packages.set(specifier, path.relative(SRC, current));
    }
  };
  visit(file);
  return { files, packages };
}

describe('the layers', () => {
  it('reads imports the way the checks below rely on', () => {
    const imports = runtimeImports(path.join(SRC, 'engine/actions.ts'));
    expect(imports).toContain('xstate');
    expect(imports).toContain('./events.js');
    // Type-only imports are not loads.
    expect(runtimeImports(path.join(SRC, 'engine/view.ts'))).not.toContain('./events.js');
  });

  it('the runbook and the engine import only each other, xstate, the parsers and node built-ins', () => {
    const allowed = new Set(['xstate', 'yaml', 'zod']);
    for (const layer of ['runbook', 'engine']) {
      for (const file of sourceFiles(path.join(SRC, layer))) {
        for (const specifier of runtimeImports(file)) {
          const where = `${path.relative(SRC, file)} imports ${specifier}`;
          if (specifier.startsWith('.')) {
            const target = path.relative(SRC, resolveLocal(file, specifier));
            expect(target.startsWith('runbook/') || target.startsWith('engine/'), where).toBe(true);
          } else {
            expect(allowed.has(specifier) || specifier.startsWith('node:'), where).toBe(true);
          }
        }
      }
    }
  });

  it('nothing the screens load brings in ssh2', () => {
    const screens = sourceFiles(path.join(SRC, 'ui'));
    expect(screens.length).toBeGreaterThan(5);
    for (const file of screens) {
      const { packages } = closure(file);
      expect(packages.get('ssh2'), `${path.relative(SRC, file)} loads ssh2 through ${packages.get('ssh2')}`).toBeUndefined();
    }
  });

  it('no module imports, through others, a module that imports it', () => {
    const circle = importCircle(sourceFiles(SRC));
    expect(circle?.map((file) => path.relative(SRC, file)).join(' -> ') ?? null).toBeNull();
  });

  it('the circle check sees a circle', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nightshift-circle-'));
    try {
      writeFileSync(path.join(dir, 'a.ts'), "import type { B } from './b.js';\nexport type A = B;\n");
      writeFileSync(path.join(dir, 'b.ts'), "import { a } from './a.js';\nexport type B = string;\n");
      expect(importCircle([path.join(dir, 'a.ts')])?.map((file) => path.basename(file))).toEqual(['a.ts', 'b.ts', 'a.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the check would see ssh2 where it is loaded', () => {
    const { packages } = closure(path.join(SRC, 'remote/open-connection.ts'));
    expect(packages.has('ssh2')).toBe(true);
  });
});
