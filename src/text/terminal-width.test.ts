import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/seeded-random.js';
import terminalWidth, { isOneColumnEach } from './terminal-width.js';

const tricky = [
  'a',
  ' ',
  '│',
  '─',
  '╭',
  '●',
  '✓',
  '✗',
  '▸',
  '·',
  '…',
  'é',
  'ß',
  'Ж',
  'α',
  '\u0301',
  '\u200d',
  '\u200c',
  '\ufe0f',
  '\ufe0e',
  '\u20e3',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '\u007f',
  '\u009b',
  '😀',
  '👍🏽',
  '🇫🇷',
  '👨‍👩‍👧',
  '❤',
  '✔',
  '©',
  '#',
  '古',
  '한',
  '\u1100',
  '\u1161',
  '\u11a8',
  'ｶ',
  '\uff9e',
  'क',
  '\u094d',
  'ष',
  '\u0d4e',
  'മ',
  '\u0600',
  '١',
  '\u00ad',
  '\u2028',
  '\ue000',
  '\u001b[31m',
  '\u001b[0m',
  '\u001b]8;;x\u0007',
];

describe('terminalWidth', () => {
  it('agrees with string-width on every character of the BMP alone', () => {
    const disagreements: string[] = [];
    for (let code = 0; code < 0x10000; code++) {
      const character = String.fromCharCode(code);
      if (terminalWidth(character) !== stringWidth(character)) disagreements.push(code.toString(16));
    }
    expect(disagreements).toEqual([]);
  });

  it('agrees with string-width on mixes of joining, wide, hidden and escaped characters', () => {
    const random = seededRandom(17);
    for (let round = 0; round < 20_000; round++) {
      let text = '';
      const length = 1 + Math.floor(random() * 8);
      for (let index = 0; index < length; index++) {
        text += random() < 0.7 ? tricky[Math.floor(random() * tricky.length)] : String.fromCharCode(Math.floor(random() * 0x10000));
      }
      expect([text, terminalWidth(text)]).toEqual([text, stringWidth(text)]);
      expect([text, terminalWidth(text, { countAnsiEscapeCodes: true })]).toEqual([text, stringWidth(text, { countAnsiEscapeCodes: true })]);
      expect([text, terminalWidth(text, { ambiguousIsNarrow: false })]).toEqual([text, stringWidth(text, { ambiguousIsNarrow: false })]);
    }
  });

  it('counts one column per character only where string-width does, for any neighbours', () => {
    const alone: string[] = [];
    for (let code = 0xa0; code < 0x10000; code++) if (isOneColumnEach(String.fromCharCode(code))) alone.push(String.fromCharCode(code));
    expect(alone.length).toBeGreaterThan(10_000);
    const random = seededRandom(23);
    for (let round = 0; round < 50_000; round++) {
      let text = '';
      for (let index = 0; index < 2 + Math.floor(random() * 6); index++) text += alone[Math.floor(random() * alone.length)];
      expect([text, stringWidth(text)]).toEqual([text, text.length]);
    }
  });

  it('finds a line of the view one column per character, and emoji, marks and wide letters not', () => {
    expect(isOneColumnEach('╭─ h001 ● Say hello · 0:03 ✓ line 3 of 20 …─╮')).toBe(true);
    for (const text of ['e\u0301', '✔\ufe0f', '古', '😀', '\u1100\u1161', 'ｶ\uff9e', 'a\u200db', 'tab\there', '\u001b[31mred']) {
      expect([text, isOneColumnEach(text)]).toEqual([text, false]);
    }
  });
});
