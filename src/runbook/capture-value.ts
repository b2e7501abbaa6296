// Taking a step's captured value from what it printed. Pure: the runner hands over the
// step's stdout (its last MiB) and gets a value, or the reason there is none.
import { CONTROL_CHARACTERS, INVISIBLE_CHARACTERS } from './hidden-characters.js';
import type { Capture } from './types.js';

/** The most of a step's stdout kept for its capture: the tail, where the value is. */
export const CAPTURE_TAIL_BYTES = 1024 * 1024;

/** What a captured value must not hold: it goes into titles people read and commands they approve. */
const HIDDEN = new RegExp(`[${CONTROL_CHARACTERS}${INVISIBLE_CHARACTERS}]`);

const PRINTED_ESCAPED = new RegExp(`[\\x7f-\\x9f${INVISIBLE_CHARACTERS}]`, 'g');

export type CaptureOutcome = { value: string } | { problem: string };

// CSI and OSC sequences, then any other ESC-led pair: what a terminal would not show as text.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-_]/g;

/** Takes the value `capture` asks for from `stdout`; a value with a NUL or a line break is refused. */
export function captureValue(capture: Capture, stdout: Buffer | string): CaptureOutcome {
  const text = (typeof stdout === 'string' ? stdout : stdout.toString('utf8')).replace(ANSI, '');
  const lines = text.split(/\r?\n|\r/);
  const found = take(capture, text, lines);
  if ('problem' in found) return { problem: `${found.problem}; ${lastLineSaid(lines)}` };
  if (found.value.includes('\0'))
    return { problem: `${describeCapture(capture)} found a value with a NUL character, which no command can be given; ${lastLineSaid(lines)}` };
  if (found.value.includes('\uFFFD')) return { problem: `${describeCapture(capture)} found a value that is not valid UTF-8; ${lastLineSaid(lines)}` };
  if (/[\r\n]/.test(found.value))
    return { problem: `${describeCapture(capture)} found a value of several lines, and a captured value is one line; ${lastLineSaid(lines)}` };
  if (HIDDEN.test(found.value)) {
    return {
      problem: `${describeCapture(capture)} found a value with a control or invisible character, which would show as something else than it is; ${lastLineSaid(lines)}`,
    };
  }
  return found;
}

function take(capture: Capture, text: string, lines: string[]): CaptureOutcome {
  switch (capture.from) {
    case 'last_line': {
      const line = lastNonEmpty(lines);
      return line === undefined ? { problem: `${describeCapture(capture)}: the step printed no line on stdout` } : { value: line.trim() };
    }
    case 'regex': {
      let match: RegExpExecArray | null;
      try {
        match = new RegExp(capture.pattern, 'm').exec(text);
      } catch (error) {
        return { problem: `${describeCapture(capture)}: the regular expression is not valid (${(error as Error).message})` };
      }
      if (match === null) return { problem: `${describeCapture(capture)}: nothing on stdout matched` };
      const value = match[capture.group];
      if (value === undefined) return { problem: `${describeCapture(capture)}: it matched, but group ${capture.group} took no part in the match` };
      return { value };
    }
    case 'json': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return { problem: `${describeCapture(capture)}: stdout is not JSON` };
      }
      const segments = jsonPath(capture.path);
      if (segments === null) return { problem: `${describeCapture(capture)}: the path is not of the form a.b[0].c` };
      let value: unknown = parsed;
      for (const segment of segments) {
        const has =
          typeof segment === 'number'
            ? Array.isArray(value) && segment < value.length
            : typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, segment);
        if (!has) return { problem: `${describeCapture(capture)}: the JSON has no ${capture.path}` };
        value = (value as Record<string | number, unknown>)[segment];
      }
      if (typeof value === 'string') return { value };
      if (typeof value === 'number' || typeof value === 'boolean') return { value: String(value) };
      return {
        problem: `${describeCapture(capture)}: ${capture.path} is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : 'an object'}, not a string, number or boolean`,
      };
    }
  }
}

/** `a.b[0].c` as its keys and indexes, or null when it is not of that form. */
export function jsonPath(path: string): Array<string | number> | null {
  const segments: Array<string | number> = [];
  const part = /([^.[\]]+)|\[(\d+)\]/y;
  let at = 0;
  while (at < path.length) {
    if (segments.length > 0 && path[at] === '.') at++;
    part.lastIndex = at;
    const match = part.exec(path);
    if (match === null) return null;
    segments.push(match[1] !== undefined ? match[1] : Number(match[2]));
    at = part.lastIndex;
  }
  return segments.length > 0 ? segments : null;
}

/** What a capture looks for, for messages: "capture root_uuid (the last non-empty line)". */
export function describeCapture(capture: Capture): string {
  switch (capture.from) {
    case 'last_line':
      return `capture ${capture.name} (the last non-empty line)`;
    case 'regex':
      return `capture ${capture.name} (group ${capture.group} of /${capture.pattern}/)`;
    case 'json':
      return `capture ${capture.name} (JSON ${capture.path})`;
  }
}

/** What a plan says of a step's capture: "captures {{root_uuid}}: the last non-empty line of stdout". */
export function captureSummary(capture: Capture): string {
  const from =
    capture.from === 'last_line'
      ? 'the last non-empty line of stdout'
      : capture.from === 'regex'
        ? `group ${capture.group} of /${capture.pattern}/ in stdout`
        : `${capture.path} of stdout as JSON`;
  return `captures {{${capture.name}}}: ${from}`;
}

function lastNonEmpty(lines: string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.trim() !== '') return lines[i];
  return undefined;
}

function lastLineSaid(lines: string[]): string {
  const line = lastNonEmpty(lines);
  if (line === undefined) return 'stdout had no line';
  const cut = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  // JSON escapes C0 controls; DEL, C1 and invisible characters are escaped too, for the screen.
  const shown = JSON.stringify(cut).replace(PRINTED_ESCAPED, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `the last line of stdout was ${shown}`;
}

/** Keeps the last `limit` bytes of what is written: a step's stdout for its capture. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = CAPTURE_TAIL_BYTES) {}
  write(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.limit) this.size -= this.chunks.shift()!.length;
  }
  bytes(): Buffer {
    const all = Buffer.concat(this.chunks);
    return all.length > this.limit ? all.subarray(all.length - this.limit) : all;
  }
}
