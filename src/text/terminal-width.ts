// The columns a string takes on a terminal: string-width's answer, found without its grapheme
// segmenter and emoji expressions when every character stands alone in one column. A frame of
// the full-screen view is made of such characters (borders, marks, "·", "…"); string-width
// segments each line, which was a tenth of the view's whole CPU time in a 200-host rollout.
// The bundle hands this function to Ink and its helpers in place of string-width (scripts/build.mjs).
import { eastAsianWidth } from 'get-east-asian-width';
import stringWidth from 'string-width';
import stripAnsi from 'strip-ansi';

type WidthOptions = Parameters<typeof stringWidth>[1];

const UNKNOWN = 0;
const ALONE = 1;
const OTHER = 2;

/** Per UTF-16 code unit: does it make a one-column grapheme whatever stands next to it? Filled as met. */
const kinds = new Uint8Array(0x10000);

// What joins a neighbour into one grapheme or takes no column, by category: marks (Mn, Mc, Me),
// controls, formats (ZWJ, ZWNJ), lone surrogates, private use, unassigned, default-ignorables
// (variation selectors, Hangul fillers).
const joinsOrHidden = /[\p{M}\p{C}\p{Default_Ignorable_Code_Point}]/u;

function kindOf(code: number): number {
  const character = String.fromCharCode(code);
  if (joinsOrHidden.test(character)) return OTHER;
  // Letters can join too (Hangul jamo, Thai and Lao AM after a consonant, halfwidth sound
  // marks, Malayalam's dot reph before one): the segmenter is asked.
  if (graphemes(`a${character}a${character}${character}`) !== 5) return OTHER;
  // What string-width answers for one visible character alone: its East Asian width, ambiguous
  // ones narrow (a lone emoji is wide by that measure too). Not string-width itself: its
  // RGI_Emoji expression takes V8 some 25 ms to compile on first use, which the first frame of
  // every start paid for its borders and marks.
  return eastAsianWidth(code) === 1 ? ALONE : OTHER;
}

const segmenter = new Intl.Segmenter();

function graphemes(text: string): number {
  let count = 0;
  for (const _ of segmenter.segment(text)) count++;
  return count;
}

function standsAlone(code: number): boolean {
  if (code >= 0x20 && code <= 0x7e) return true;
  let kind = kinds[code] as number;
  if (kind === UNKNOWN) {
    kind = kindOf(code);
    kinds[code] = kind;
  }
  return kind === ALONE;
}

/** True when every character of `text` (no escape sequences) is its own grapheme of one column: its width is its length. */
export function isOneColumnEach(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    if (!standsAlone(text.charCodeAt(index))) return false;
  }
  return true;
}

/** string-width, with the same arguments and the same answers. */
export default function terminalWidth(input: string, options?: WidthOptions): number {
  if (typeof input !== 'string' || input.length === 0) return 0;
  if (options !== undefined && (options.ambiguousIsNarrow === false || options.countAnsiEscapeCodes === true)) {
    return stringWidth(input, options);
  }
  const text = input.includes('\u001B') || input.includes('\u009B') ? stripAnsi(input) : input;
  return isOneColumnEach(text) ? text.length : stringWidth(input, options);
}
