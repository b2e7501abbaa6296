// Remote output and chat text must never drive the upgrader's terminal: escape sequences
// are removed and other control characters shown in caret notation. The log on disk keeps
// the raw bytes.

// CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings, and two-byte ESC sequences.
const SEQUENCE =
  // eslint-disable-next-line no-control-regex
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -/]*[0-~]|\x9b[0-?]*[ -/]*[@-~]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/** Foreign text for one line of chat: escape sequences and control characters removed, line breaks and tabs made spaces. */
export function stripControls(text: string): string {
  return text
    .replace(SEQUENCE, '')
    .replace(/[\t\r\n]+/g, ' ')
    .replace(CONTROL, '');
}

function caret(char: string): string {
  const code = char.charCodeAt(0);
  if (code < 0x20) return `^${String.fromCharCode(code + 64)}`;
  if (code === 0x7f) return '^?';
  return `<${code.toString(16)}>`;
}

/** One line of foreign text made safe to print: no sequences, no controls, tabs expanded, \r overwrites. */
export function neutralize(line: string): string {
  if (!ANY_CONTROL.test(line)) return line;
  let text = line.replace(SEQUENCE, '');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  const lastReturn = text.lastIndexOf('\r');
  if (lastReturn !== -1) text = text.slice(lastReturn + 1);
  if (text.includes('\t')) text = expandTabs(text);
  return text.replace(CONTROL, caret);
}

function expandTabs(text: string): string {
  let out = '';
  for (const char of text) out += char === '\t' ? ' '.repeat(8 - (out.length % 8)) : char;
  return out;
}
