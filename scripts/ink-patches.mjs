// Changes to Ink's frame building, applied as the bundle is built (scripts/build.mjs): the same
// frames for a fraction of the CPU and allocation. Each replacement must find its text exactly
// once, so an Ink that changed stops the build instead of being patched blindly.
// test/unit/ink-patches.test.ts draws random frames with and without them and compares.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Ink measures every changed line of every frame with string-width, which segments graphemes
// and tests emoji expressions per character: a third of the full-screen view's CPU in a
// 200-host rollout. Ink and its helpers get src/text/terminal-width.ts instead (the same
// answers, tested against string-width), and line-update takes the shortcut it has for ASCII
// for every line of one-column characters.
const terminalWidth = fileURLToPath(new URL('../src/text/terminal-width.ts', import.meta.url));
export const fasterInkFrames = {
  name: 'faster-ink-frames',
  setup(builder) {
    builder.onResolve({ filter: /^string-width$/ }, (args) =>
      args.importer.includes(`${path.sep}node_modules${path.sep}`) ? { path: terminalWidth } : undefined,
    );
    builder.onLoad({ filter: /[\\/]ink[\\/]build[\\/](line-update|output)\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const patched = args.path.endsWith('line-update.js') ? patchLineUpdate(source) : patchOutput(source);
      return { contents: patched, loader: 'js', resolveDir: path.dirname(args.path) };
    });
    builder.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      return { contents: patchStringWidth(source), loader: 'js', resolveDir: path.dirname(args.path) };
    });
    builder.onLoad({ filter: /[\\/]@alcalzone[\\/]ansi-tokenize[\\/]build[\\/]diff\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      return { contents: patchStyleDiff(source), loader: 'js', resolveDir: path.dirname(args.path) };
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

// string-width builds its segmenter and its RGI_Emoji expression as it is loaded: 8-12 ms of
// every start, for a function that most starts never call (terminal-width.ts answers for
// one-column characters itself). They are built on first use instead.
function patchStringWidth(source) {
  let patched = replaceOnce(source, 'const segmenter = new Intl.Segmenter();', 'let segmenter;', 'string-width index.js');
  patched = replaceOnce(patched, 'of segmenter.segment(string)', 'of (segmenter ??= new Intl.Segmenter()).segment(string)', 'string-width index.js');
  patched = replaceOnce(patched, 'const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;', 'let rgiEmojiRegex;', 'string-width index.js');
  return replaceOnce(patched, 'rgiEmojiRegex.test(segment)', '(rgiEmojiRegex ??= /^\\p{RGI_Emoji}$/v).test(segment)', 'string-width index.js');
}

// Every line of every frame ends with a diff from its last style to none, and most lines start
// from none: three Sets each time, a tenth of what a frame allocated. Either side empty has a
// plain answer (what the general case computes then).
function patchStyleDiff(source) {
  return replaceOnce(
    source,
    'export function diffAnsiCodes(from, to) {',
    `export function diffAnsiCodes(from, to) {
    if (from.length === 0) return [...to];
    if (to.length === 0) return undoAnsiCodes(from);`,
    'ansi-tokenize diff.js',
  );
}

// Ink's caches of line widths and styled characters live one frame, and most of a frame's lines
// were drawn the frame before: each frame also looks in the last one's. The text of a write is
// split into lines once, not in every frame, and the empty cells of a frame are one shared
// (frozen) cell: a frame of the 200-host view allocated 3 MB, most of it for these.
function patchOutput(source) {
  let patched = replaceOnce(source, '    caches = new OutputCaches();', '    caches = cachesForNextFrame();', 'output.js');
  patched = replaceOnce(
    patched,
    `        const characterLines = [[]];
        for (const character of this.caches.getStyledChars(text)) {
            if (character.value === '\\n') {
                characterLines.push([]);
            }
            else {
                characterLines.at(-1).push(character);
            }
        }
        let lines = characterLines.map(line => styledCharsToString(line));`,
    '        let lines = this.caches.getLines(text);',
    'output.js',
  );
  patched = replaceOnce(
    patched,
    '    getStringWidth(text) {',
    `    lines = new Map();
    getLines(text) {
        let cached = this.lines.get(text);
        if (cached === undefined) {
            const characterLines = [[]];
            for (const character of this.getStyledChars(text)) {
                if (character.value === '\\n') {
                    characterLines.push([]);
                }
                else {
                    characterLines.at(-1).push(character);
                }
            }
            cached = characterLines.map(line => styledCharsToString(line));
            this.lines.set(text, cached);
        }
        return cached;
    }
    getStringWidth(text) {`,
    'output.js',
  );
  patched = replaceOnce(
    patched,
    `            const row = [];
            for (let x = 0; x < this.width; x++) {
                row.push({
                    type: 'char',
                    value: ' ',
                    fullWidth: false,
                    styles: [],
                });
            }`,
    '            const row = new Array(this.width).fill(emptyCell);',
    'output.js',
  );
  return `${patched}
const emptyCell = Object.freeze({ type: 'char', value: ' ', fullWidth: false, styles: Object.freeze([]) });
let lastFrameCaches;
function cachesForNextFrame() {
    const caches = new OutputCaches();
    for (const name of ['widths', 'blockWidths', 'styledChars', 'lines']) {
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
