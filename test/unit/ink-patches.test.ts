// The bundle's changes to Ink (scripts/ink-patches.mjs) must draw the very frames Ink draws:
// Ink's frame building, its line updates and its style diffs are bundled with and without them
// and given the same random frames.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../support/seeded-random.js';
// @ts-expect-error: a build script without types
import { fasterInkFrames } from '../../scripts/ink-patches.mjs';

interface Cell {
  value: string;
  styles: unknown[];
}
interface Output {
  write(x: number, y: number, text: string, options: { transformers: Array<(line: string, index: number) => string> }): void;
  clip(clip: { x1?: number; x2?: number; y1?: number; y2?: number }): void;
  unclip(): void;
  get(): { output: string; height: number };
}
interface InkParts {
  Output: new (options: { width: number; height: number }) => Output;
  lineUpdate(previous: string, next: string, columns: number): string;
  diffAnsiCodes(from: unknown[], to: unknown[]): unknown[];
  styledCharsFromTokens(tokens: unknown[]): Cell[];
  tokenize(text: string): unknown[];
  stringWidth(text: string, options?: { ambiguousIsNarrow?: boolean; countAnsiEscapeCodes?: boolean }): number;
  stringWidthSource: string;
}

const require = createRequire(import.meta.url);
const inkBuild = path.dirname(require.resolve('ink'));
const tokenizer = path.join(path.dirname(path.dirname(inkBuild)), '@alcalzone', 'ansi-tokenize', 'build');
const work = mkdtempSync(path.join(tmpdir(), 'nightshift-ink-patches-'));

async function bundleInk(name: string, plugins: Plugin[]): Promise<InkParts> {
  const file = path.join(work, `${name}.mjs`);
  await build({
    stdin: {
      contents: [
        `export { default as Output } from ${JSON.stringify(path.join(inkBuild, 'output.js'))};`,
        `export { default as lineUpdate } from ${JSON.stringify(path.join(inkBuild, 'line-update.js'))};`,
        `export { diffAnsiCodes } from ${JSON.stringify(path.join(tokenizer, 'diff.js'))};`,
        `export { styledCharsFromTokens } from ${JSON.stringify(path.join(tokenizer, 'styledChars.js'))};`,
        `export { tokenize } from ${JSON.stringify(path.join(tokenizer, 'tokenize.js'))};`,
        "export { default as stringWidth } from 'string-width';",
        "import stringWidth from 'string-width'; export const stringWidthSource = String(stringWidth);",
      ].join('\n'),
      resolveDir: inkBuild,
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: file,
    plugins,
    logLevel: 'silent',
  });
  return (await import(pathToFileURL(file).href)) as InkParts;
}

const pieces = [
  'abc',
  'line 3 of 20',
  ' ',
  '│',
  '─',
  '╭─╮',
  '●',
  '✓',
  '✗',
  '▸',
  '·',
  '…',
  'é',
  'e\u0301',
  '古い',
  '한',
  '😀',
  '👍🏽',
  '✔\ufe0f',
  'ｶ\uff9e',
  '\u200b',
  '\t',
  'ข\u0e33',
  '\u001b[31m',
  '\u001b[39m',
  '\u001b[1m',
  '\u001b[22m',
  '\u001b[2m',
  '\u001b[7m',
  '\u001b[27m',
  '\u001b[38;5;202m',
  '\u001b[48;2;1;2;3m',
  '\u001b[49m',
  '\u001b[0m',
];

function randomText(random: () => number, lines: number): string {
  const out: string[] = [];
  for (let line = 0; line < lines; line++) {
    let text = '';
    const length = Math.floor(random() * 12);
    for (let index = 0; index < length; index++) text += pieces[Math.floor(random() * pieces.length)];
    out.push(text);
  }
  return out.join('\n');
}

let original: InkParts;
let patched: InkParts;

beforeAll(async () => {
  original = await bundleInk('original', []);
  patched = await bundleInk('patched', [fasterInkFrames as Plugin]);
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the bundle’s changes to Ink', () => {
  it('are applied (the patched frame code differs)', () => {
    expect(patched.Output).not.toBe(original.Output);
    expect(String(patched.Output)).toContain('cachesForNextFrame');
    expect(String(original.Output)).not.toContain('cachesForNextFrame');
  });

  it('draw the same frames, frame after frame, with texts that come back, clips and transformers', () => {
    const random = seededRandom(11);
    // Texts come back from frame to frame, as a screen's lines do, so the kept caches are used.
    const pool = Array.from({ length: 60 }, () => randomText(random, 1 + Math.floor(random() * 3)));
    const upper = (line: string) => line.toUpperCase();
    for (let frame = 0; frame < 400; frame++) {
      const width = 10 + Math.floor(random() * 40);
      const height = 3 + Math.floor(random() * 10);
      const outputs = [new original.Output({ width, height }), new patched.Output({ width, height })];
      const operations = Math.floor(random() * 12);
      let clips = 0;
      for (let index = 0; index < operations; index++) {
        const choice = random();
        const text = random() < 0.8 ? pool[Math.floor(random() * pool.length)]! : randomText(random, 2);
        const x = Math.floor(random() * width) - 3;
        const y = Math.floor(random() * height) - 1;
        const transformers = random() < 0.2 ? [upper] : [];
        const clip = { x1: Math.floor(random() * width), x2: Math.floor(random() * width) + 2, y1: Math.floor(random() * height), y2: height };
        for (const output of outputs) {
          if (choice < 0.15) output.clip(clip);
          else if (choice < 0.25 && clips > 0) output.unclip();
          else output.write(x, y, text, { transformers });
        }
        if (choice < 0.15) clips++;
        else if (choice < 0.25 && clips > 0) clips--;
      }
      const [expected, actual] = outputs.map((output) => output.get());
      expect(actual).toEqual(expected);
    }
  });

  it('update a changed line on the terminal with the same bytes', () => {
    const random = seededRandom(5);
    for (let round = 0; round < 5000; round++) {
      const common = randomText(random, 1);
      const previous = common + randomText(random, 1);
      const next = common + randomText(random, 1);
      const columns = 5 + Math.floor(random() * 80);
      expect([previous, next, patched.lineUpdate(previous, next, columns)]).toEqual([previous, next, original.lineUpdate(previous, next, columns)]);
    }
  });

  it('measure every text as string-width does, with its segmenter and emoji expression made on first use', () => {
    expect(patched.stringWidthSource).toContain('??= new Intl.Segmenter()');
    expect(original.stringWidthSource).not.toContain('??=');
    const random = seededRandom(7);
    for (let round = 0; round < 3000; round++) {
      const text = randomText(random, 1 + Math.floor(random() * 2));
      const options = random() < 0.3 ? { ambiguousIsNarrow: random() < 0.5, countAnsiEscapeCodes: random() < 0.5 } : undefined;
      expect([text, patched.stringWidth(text, options)]).toEqual([text, original.stringWidth(text, options)]);
    }
  });

  it('diff styles as before, from and to none included', () => {
    const random = seededRandom(3);
    const styles = (text: string) => original.styledCharsFromTokens(original.tokenize(`${text}x`)).at(-1)?.styles ?? [];
    for (let round = 0; round < 5000; round++) {
      const from = random() < 0.3 ? [] : styles(randomText(random, 1));
      const to = random() < 0.3 ? [] : styles(randomText(random, 1));
      expect(patched.diffAnsiCodes(from, to)).toEqual(original.diffAnsiCodes(from, to));
    }
  });
});
