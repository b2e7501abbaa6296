// Remote output, chat text and runbook text must never drive a terminal nor disguise what
// they say. Output and chat lose their escape sequences and show other control characters
// in caret notation; runbook text shows every control character, sequences included (a
// command must read as what runs). C1 controls and the characters that reorder or hide
// text (bidi embeddings, overrides and isolates, zero-width characters) show as <U+XXXX>.
// The log on disk keeps the raw bytes.

import { CONTROL_CHARACTERS, INVISIBLE_CHARACTERS } from '../runbook/hidden-characters.js';

// CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings, and two-byte ESC sequences.
const SEQUENCE =
  // eslint-disable-next-line no-control-regex
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -/]*[0-~]|\x9b[0-?]*[ -/]*[@-~]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
const INVISIBLE = new RegExp(`[${INVISIBLE_CHARACTERS}]`, 'g');
const ANY_SPECIAL = new RegExp(`[\\t\\n${CONTROL_CHARACTERS}${INVISIBLE_CHARACTERS}]`);
const CONTROL_BUT_LAYOUT = new RegExp(`[${CONTROL_CHARACTERS}]`, 'g');

/** Foreign text for one line of chat: escape sequences and control characters removed, line breaks and tabs made spaces, invisible characters shown. */
export function stripControls(text: string): string {
  return text
    .replace(SEQUENCE, '')
    .replace(/[\t\r\n]+/g, ' ')
    .replace(CONTROL, '')
    .replace(INVISIBLE, codePoint);
}

/** ^X for C0 controls and DEL, <U+XXXX> for the rest. */
function caret(char: string): string {
  const code = char.charCodeAt(0);
  if (code < 0x20) return `^${String.fromCharCode(code + 64)}`;
  if (code === 0x7f) return '^?';
  return codePoint(char);
}

function codePoint(char: string): string {
  return `<U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`;
}

/** One line of foreign text made safe to print: no sequences, no controls, tabs expanded, \r overwrites. */
export function neutralize(line: string): string {
  if (!ANY_SPECIAL.test(line)) return line;
  let text = line.replace(SEQUENCE, '');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  const lastReturn = text.lastIndexOf('\r');
  if (lastReturn !== -1) text = text.slice(lastReturn + 1);
  if (text.includes('\t')) text = expandTabs(text);
  return text.replace(CONTROL, caret).replace(INVISIBLE, codePoint);
}

/**
 * Runbook text (commands, notes, names) made safe to print as it is: every control character
 * shown (ESC as ^[, CR as ^M, C1 as <U+009B>), nothing removed, so that what is shown is what
 * was written; line breaks and tabs kept.
 */
export function visibleText(text: string): string {
  if (!ANY_SPECIAL.test(text)) return text;
  return text.replace(CONTROL_BUT_LAYOUT, caret).replace(INVISIBLE, codePoint);
}

/** As visibleText, for text that must stay on one line: line breaks shown as ^J. */
export function visibleLine(text: string): string {
  return visibleText(text).replaceAll('\n', '^J');
}

const JSON_UNSAFE = new RegExp(`[\\x7f-\\x9f${INVISIBLE_CHARACTERS}]`, 'g');

/** JSON.stringify, with what JSON leaves as it is but a terminal acts on (DEL, C1, invisible characters) written as \u escapes: the same value, safe to print. */
export function safeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(JSON_UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function expandTabs(text: string): string {
  let out = '';
  for (const char of text) out += char === '\t' ? ' '.repeat(8 - (out.length % 8)) : char;
  return out;
}
