// The names people take in the chat (/name). A name must not pass for someone else: not
// another participant's, not a role or a word that sounds like authority, however it is
// spelled (case, spaces, dots, zero-width characters, accents, look-alike letters).
import { MAX_NAME_CHARS } from './chat-text.js';
import { stripControls } from '../output/neutralize.js';

/** Names nobody may take: the roles, nightshift itself, and words of authority. */
const RESERVED = [
  'upgrader',
  'sentinel',
  'observer',
  'helper',
  'nightshift',
  'root',
  'system',
  'admin',
  'administrator',
  'sysadmin',
  'superuser',
  'sudo',
  'operator',
  'server',
  'console',
  'daemon',
  'wall',
  'everyone',
];

/** Letters that look like Latin ones, and digits and signs written for letters. */
const LOOK_ALIKES: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  ı: 'i',
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ß: 'ss',
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  l: 'i',
  '|': 'i',
  '!': 'i',
  $: 's',
  '@': 'a',
};

/** Invisible characters and marks that change nothing a reader sees. */
const INVISIBLE = /[\p{Cf}\p{Mn}\p{Me}\u034f\u115f\u1160\u3164\uffa0]/gu;
/** What a name may be made of once cleaned: letters, digits, spaces and . - _ ' */
const ALLOWED = /^[\p{L}\p{N} ._'-]+$/u;

/** A name as typed made plain: no controls, no invisible characters, compatibility forms folded, one space between words. */
export function plainName(raw: string): string {
  // Invisible characters go first: stripControls would show them as <U+...>, which a name may not hold.
  return stripControls(raw.normalize('NFKC').replace(INVISIBLE, '')).replace(/\s+/g, ' ').trim();
}

/** How a name reads, for comparing: lower case, look-alikes made Latin, only letters and digits. */
function reading(text: string): string {
  return [...plainName(text).normalize('NFKD').replace(INVISIBLE, '').toLowerCase()]
    .map((char) => LOOK_ALIKES[char] ?? char)
    .join('')
    .replace(/[^\p{L}\p{N}]/gu, '');
}

const RESERVED_READINGS = new Set(RESERVED.map(reading));

/**
 * Why `raw` cannot be someone's new name, or null when it can. `others` are the names of
 * the other participants.
 */
export function nameProblem(raw: string, others: readonly string[]): string | null {
  const name = plainName(raw);
  if (name === '') return 'a name needs at least one letter or digit';
  if (name.length > MAX_NAME_CHARS) return `a name has at most ${MAX_NAME_CHARS} characters`;
  if (!ALLOWED.test(name)) return "a name is letters, digits, spaces and . - _ ' only";
  const whole = reading(name);
  if (whole === '') return 'a name needs at least one letter or digit';
  // Each word on its own too: "the upgrader", "root 2", "admin-kim".
  const words = name
    .split(/[^\p{L}\p{N}]+/u)
    .map((word) => reading(word.replace(/^\d+|\d+$/gu, '')))
    .filter(Boolean);
  const reserved = [whole, ...words].find((word) => RESERVED_READINGS.has(word));
  if (reserved !== undefined) return `"${name}" reads as a role or as nightshift itself: pick a name of your own`;
  if (others.some((other) => reading(other) === whole)) return `"${name}" is taken (or looks like a name that is): pick another`;
  return null;
}
