// What an `edit:` step makes of a file, and the diff shown for it. Pure: the runner reads
// and writes the file, this works out the text. Each line keeps its own line ending (a CRLF
// file stays CRLF, a file without a final newline stays without one); applied to its own
// result, a step's changes change nothing, or they are refused.
import type { EditChange } from './types.js';

interface Line {
  text: string;
  /** '\n', '\r\n', or '' for a last line without a newline. */
  eol: string;
}

interface Lines {
  lines: Line[];
  /** The ending new lines get: the file's first one, '\n' when it has none. */
  eol: string;
}

/** The file's text with the step's changes made; `original` null: the file does not exist yet. */
export function applyChanges(original: string | null, changes: readonly EditChange[]): string {
  const once = applyOnce(original, changes);
  if (changes.length > 0 && applyOnce(once, changes) !== once) {
    throw new Error(
      'the changes of this edit step work against each other: applied a second time, they would change the file again (e.g. a line that ensure_lines adds and replace then rewrites); make them agree',
    );
  }
  return once;
}

function applyOnce(original: string | null, changes: readonly EditChange[]): string {
  let file = parseLines(original ?? '');
  for (const change of changes) {
    switch (change.kind) {
      case 'content':
        return change.text;
      case 'ensure_line':
        file = ensureLine(file, change.line, change.after);
        break;
      case 'replace':
        file = replaceLines(file, change.pattern, change.with);
        break;
      case 'block':
        file = setBlock(file, change.marker, change.text);
        break;
      case 'set':
        file = setKey(file, change.key, change.value, change.separator);
        break;
    }
  }
  return joinLines(file);
}

export function parseLines(text: string): Lines {
  const lines: Line[] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    if (end === -1) {
      lines.push({ text: text.slice(start), eol: '' });
      break;
    }
    const crlf = end > start && text[end - 1] === '\r';
    lines.push({ text: text.slice(start, crlf ? end - 1 : end), eol: crlf ? '\r\n' : '\n' });
    start = end + 1;
  }
  const first = lines.find((line) => line.eol !== '');
  return { lines, eol: first?.eol ?? '\n' };
}

function joinLines(file: Lines): string {
  return file.lines.map((line) => line.text + line.eol).join('');
}

/** `added` (text lines) put in at `index`, each ending as the file's lines do; a last line without a newline stays without one. */
function insertAt(file: Lines, index: number, added: string[]): Lines {
  if (added.length === 0) return file;
  const lines = file.lines.map((line) => ({ ...line }));
  const atEnd = index === lines.length;
  const lastOpen = atEnd && lines.length > 0 && lines[lines.length - 1]!.eol === '';
  if (lastOpen) lines[lines.length - 1]!.eol = file.eol;
  const fresh = added.map((text, i) => ({ text, eol: lastOpen && i === added.length - 1 ? '' : file.eol }));
  lines.splice(index, 0, ...fresh);
  return { lines, eol: file.eol };
}

/** Text given in the runbook as lines: "a\nb\n" is two lines. */
function textLines(text: string): string[] {
  const lines = parseLines(text).lines.map((line) => line.text);
  return lines;
}

function ensureLine(file: Lines, line: string, after: string | undefined): Lines {
  if (file.lines.some((existing) => existing.text === line)) return file;
  let index = file.lines.length;
  if (after !== undefined) {
    const pattern = new RegExp(after);
    for (let i = file.lines.length - 1; i >= 0; i--) {
      if (pattern.test(file.lines[i]!.text)) {
        index = i + 1;
        break;
      }
    }
  }
  return insertAt(file, index, [line]);
}

/** `with` for one match: $1..$99, $<name>, $& and $$ as in String.replace. */
export function expandReplacement(replacement: string, match: RegExpExecArray): string {
  return replacement.replace(/\$(\$|&|\d{1,2}|<([A-Za-z_][A-Za-z0-9_]*)>)/g, (whole, what: string, named: string | undefined) => {
    if (what === '$') return '$';
    if (what === '&') return match[0];
    if (named !== undefined) return match.groups?.[named] ?? '';
    const group = Number(what);
    return group < match.length ? (match[group] ?? '') : whole;
  });
}

function replaceLines(file: Lines, pattern: string, replacement: string): Lines {
  const regex = new RegExp(pattern);
  return {
    eol: file.eol,
    lines: file.lines.map((line) => {
      const match = regex.exec(line.text);
      return match ? { ...line, text: expandReplacement(replacement, match) } : line;
    }),
  };
}

function setBlock(file: Lines, marker: string, text: string): Lines {
  const begin = `# BEGIN ${marker}`;
  const end = `# END ${marker}`;
  const start = file.lines.findIndex((line) => line.text.trim() === begin);
  const stop = file.lines.findIndex((line, i) => i > start && line.text.trim() === end);
  const body = textLines(text);
  if (start === -1 && file.lines.every((line) => line.text.trim() !== end)) return insertAt(file, file.lines.length, [begin, ...body, end]);
  if (start === -1 || stop === -1) {
    throw new Error(
      `the file has '${start === -1 ? end : begin}' without '${start === -1 ? begin : end}': put the pair right by hand, or remove the half left over`,
    );
  }
  const kept = { eol: file.eol, lines: [...file.lines.slice(0, start + 1), ...file.lines.slice(stop)] };
  return insertAt(kept, start + 1, body);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The value of a `key=value` line as the shell reads it, for simple values: quotes taken off. */
function unquoted(value: string): string {
  const trimmed = value.trim();
  const quoted = /^"([^"\\$`]*)"$/.exec(trimmed) ?? /^'([^']*)'$/.exec(trimmed);
  return quoted ? quoted[1]! : trimmed;
}

function setKey(file: Lines, key: string, value: string, separator: string): Lines {
  const line = new RegExp(`^(\\s*(?:export\\s+)?)${escapeRegExp(key)}\\s*${escapeRegExp(separator.trim() || separator)}(.*)$`);
  let found = false;
  const lines = file.lines.map((existing) => {
    const match = line.exec(existing.text);
    if (!match) return existing;
    found = true;
    return unquoted(match[2]!) === value ? existing : { ...existing, text: `${match[1]}${key}${separator}${value}` };
  });
  return found ? { eol: file.eol, lines } : insertAt(file, file.lines.length, [`${key}${separator}${value}`]);
}

/** The text a change brings into the file, for checks on what it holds. */
export function changeTexts(change: EditChange): string[] {
  switch (change.kind) {
    case 'content':
      return [change.text];
    case 'ensure_line':
      return [change.line];
    case 'replace':
      return [change.with];
    case 'block':
      return [change.marker, change.text];
    case 'set':
      return [change.key, change.value, change.separator];
  }
}

// ---------------------------------------------------------------------------------------
// The unified diff shown before an edit is approved.

const CONTEXT = 3;
/** Beyond this many cells the middle is shown as replaced whole rather than aligned line by line. */
const MAX_TABLE = 4_000_000;

type Op = { kind: ' ' | '-' | '+'; line: Line };

/** A unified diff (3 lines of context, @@ hunks) from `before` (null: no file) to `after`; '' when they are the same. */
export function unifiedDiff(path: string, before: string | null, after: string): string {
  if (before === after) return '';
  const a = parseLines(before ?? '').lines;
  const b = parseLines(after).lines;
  const ops = lineOps(a, b);
  const header = `--- ${before === null ? '/dev/null' : path}\n+++ ${path}\n`;
  return header + hunks(ops).join('');
}

const same = (x: Line, y: Line) => x.text === y.text && x.eol === y.eol;

function lineOps(a: Line[], b: Line[]): Op[] {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && same(a[prefix]!, b[prefix]!)) prefix++;
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix && same(a[a.length - 1 - suffix]!, b[b.length - 1 - suffix]!)) suffix++;
  const midA = a.slice(prefix, a.length - suffix);
  const midB = b.slice(prefix, b.length - suffix);
  const keep = (lines: Line[]): Op[] => lines.map((line) => ({ kind: ' ', line }));
  return [...keep(a.slice(0, prefix)), ...middleOps(midA, midB), ...keep(a.slice(a.length - suffix))];
}

/** The longest common subsequence of the lines, as deletions, insertions and kept lines. */
function middleOps(a: Line[], b: Line[]): Op[] {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0 || n * m > MAX_TABLE) {
    return [...a.map((line) => ({ kind: '-' as const, line })), ...b.map((line) => ({ kind: '+' as const, line }))];
  }
  const table = new Uint32Array((n + 1) * (m + 1));
  const cell = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[cell(i, j)] = same(a[i]!, b[j]!) ? table[cell(i + 1, j + 1)]! + 1 : Math.max(table[cell(i + 1, j)]!, table[cell(i, j + 1)]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (same(a[i]!, b[j]!)) {
      ops.push({ kind: ' ', line: a[i]! });
      i++;
      j++;
    } else if (table[cell(i + 1, j)]! >= table[cell(i, j + 1)]!) ops.push({ kind: '-', line: a[i++]! });
    else ops.push({ kind: '+', line: b[j++]! });
  }
  while (i < n) ops.push({ kind: '-', line: a[i++]! });
  while (j < m) ops.push({ kind: '+', line: b[j++]! });
  return ops;
}

function hunks(ops: Op[]): string[] {
  const changed = ops.flatMap((op, index) => (op.kind === ' ' ? [] : [index]));
  const groups: Array<[number, number]> = [];
  for (const index of changed) {
    const last = groups[groups.length - 1];
    if (last && index - last[1] <= 2 * CONTEXT + 1) last[1] = index;
    else groups.push([index, index]);
  }
  // Line numbers before each op, in the old and the new file.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let oldLine = 1;
  let newLine = 1;
  for (const op of ops) {
    oldAt.push(oldLine);
    newAt.push(newLine);
    if (op.kind !== '+') oldLine++;
    if (op.kind !== '-') newLine++;
  }
  return groups.map(([first, last]) => {
    const from = Math.max(0, first - CONTEXT);
    const to = Math.min(ops.length - 1, last + CONTEXT);
    const slice = ops.slice(from, to + 1);
    const oldCount = slice.filter((op) => op.kind !== '+').length;
    const newCount = slice.filter((op) => op.kind !== '-').length;
    const range = (start: number, count: number) => (count === 1 ? `${start}` : `${count === 0 ? start - 1 : start},${count}`);
    const body = slice.map((op) => `${op.kind}${op.line.text}\n${op.line.eol === '' ? '\\ No newline at end of file\n' : ''}`).join('');
    return `@@ -${range(oldAt[from]!, oldCount)} +${range(newAt[from]!, newCount)} @@\n${body}`;
  });
}

/** What an edit step's changes do, in a few words each, for the plan: "replace /^#?Port / → Port 2222; ensure PermitRootLogin no". */
export function describeChanges(changes: readonly EditChange[]): string {
  const lineCount = (text: string) => parseLines(text).lines.length;
  return changes
    .map((change) => {
      switch (change.kind) {
        case 'content':
          return `the whole file (${lineCount(change.text)} line${lineCount(change.text) === 1 ? '' : 's'})`;
        case 'ensure_line':
          return `ensure ${JSON.stringify(change.line)}${change.after !== undefined ? ` after /${change.after}/` : ''}`;
        case 'replace':
          return `replace /${change.pattern}/ with ${JSON.stringify(change.with)}`;
        case 'block':
          return `block "${change.marker}" (${lineCount(change.text)} line${lineCount(change.text) === 1 ? '' : 's'})`;
        case 'set':
          return `set ${change.key}${change.separator}${change.value}`;
      }
    })
    .join('; ');
}
