// What people type into the chat: plain text made safe for every screen it reaches, and
// the few slash commands both sides understand.
import { stripControls } from '../output/neutralize.js';

/** Longer messages are refused by the input lines and cut here, so nobody floods the others' screens. */
export const MAX_MESSAGE_CHARS = 500;
export const MAX_NAME_CHARS = 24;

export function cleanChatText(raw: string, limit = MAX_MESSAGE_CHARS): string {
  const text = stripControls(raw).replace(/ {2,}/g, ' ').trim();
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/**
 * Pasted text (or text that came in one burst) as one message: its lines joined, and when
 * it does not fit, cut at the limit with a note saying so. `more`: only its start was kept.
 */
export function pastedMessage(kept: string, more = false): string {
  const text = cleanChatText(kept, Number.POSITIVE_INFINITY);
  if (text.length <= MAX_MESSAGE_CHARS && !more) return text;
  const note = ` … [pasted text cut at the ${MAX_MESSAGE_CHARS}-character limit]`;
  return `${text.slice(0, MAX_MESSAGE_CHARS - note.length).trimEnd()}${note}`;
}

export type ChatLine =
  | { kind: 'message'; text: string }
  | { kind: 'away'; minutes: number | null; reason: string }
  | { kind: 'back' }
  /** A helper confirms their checkpoint, with the typed value when it asks for one. */
  | { kind: 'ok'; value: string }
  | { kind: 'output' }
  | { kind: 'name'; name: string }
  | { kind: 'code' }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'unknown'; command: string };

/** Which chat a line is typed in: the upgrader's (in nightshift's screen) or a helper's (over SSH). */
export type ChatSide = 'upgrader' | 'helper';

type CommandKind = Exclude<ChatLine['kind'], 'message' | 'unknown'>;

/**
 * Every slash command: its names, who has it, and how each side's help shows it (`usage`
 * in the upgrader's hint, `help` in the helper's /help, `hint` on the helper's key line).
 */
export const SLASH_COMMANDS: ReadonlyArray<{
  kind: CommandKind;
  names: readonly string[];
  sides: readonly ChatSide[];
  usage: string;
  help?: string;
  hint?: string;
}> = [
  {
    kind: 'ok',
    names: ['ok', 'done'],
    sides: ['helper'],
    usage: '/ok',
    help: '/ok confirms what is asked of you (/ok TEXT when it asks for text)',
    hint: '/ok confirm',
  },
  { kind: 'away', names: ['away'], sides: ['upgrader', 'helper'], usage: '/away 60 REASON', help: '/away 60 lunch', hint: '/away 60 lunch' },
  { kind: 'back', names: ['back'], sides: ['upgrader', 'helper'], usage: '/back', help: '/back', hint: '/back' },
  { kind: 'name', names: ['name', 'nick'], sides: ['upgrader', 'helper'], usage: '/name NAME', help: '/name YOUR NAME' },
  { kind: 'code', names: ['code'], sides: ['upgrader'], usage: '/code new join code' },
  { kind: 'output', names: ['output', 'out'], sides: ['helper'], usage: '/output', help: 'Tab or /output shows the output', hint: 'Tab output' },
  { kind: 'help', names: ['help', '?'], sides: ['helper'], usage: '/help', hint: '/help' },
  { kind: 'quit', names: ['quit', 'exit', 'bye'], sides: ['helper'], usage: '/quit', help: '/quit leaves', hint: '/quit' },
];

/** Whether what is being typed shows as "typing…" to the others: not a command (/away, /ok...), which nobody else reads. */
export function typingShown(text: string): boolean {
  return !text.trimStart().startsWith('/');
}

/**
 * Reads one submitted line: `/away 60 lunch`, `/back`, `/ok dragon`, ... or a message.
 * `//text` sends "/text". With `side`, a command only the other side has is unknown.
 */
export function parseChatLine(raw: string, side?: ChatSide): ChatLine | null {
  const line = cleanChatText(raw);
  if (line === '') return null;
  if (line.startsWith('//')) return { kind: 'message', text: line.slice(1) };
  if (!line.startsWith('/')) return { kind: 'message', text: line };
  const [command = '', ...rest] = line.slice(1).split(' ');
  const argument = rest.join(' ').trim();
  const known = SLASH_COMMANDS.find((each) => each.names.includes(command.toLowerCase()) && (side === undefined || each.sides.includes(side)));
  if (!known) return { kind: 'unknown', command };
  switch (known.kind) {
    case 'away': {
      const [first = '', ...reason] = argument.split(' ');
      const minutes = /^\d{1,4}$/.test(first) ? Number(first) : null;
      return { kind: 'away', minutes, reason: (minutes === null ? argument : reason.join(' ')).trim() };
    }
    case 'ok':
      return { kind: 'ok', value: argument };
    case 'name':
      // Not cut here: a name too long is refused with a reason, not shortened without one.
      return { kind: 'name', name: argument };
    default:
      return { kind: known.kind };
  }
}

/** What both sides do with a message and the commands they share; false for the rest (their own). */
export function sayOrSetPresence(hub: ChatHubLike, id: string, line: ChatLine): boolean {
  switch (line.kind) {
    case 'message':
      hub.say(id, line.text);
      return true;
    case 'away':
      hub.away(id, line.minutes, line.reason);
      return true;
    case 'back':
      hub.back(id);
      return true;
    case 'name':
      hub.rename(id, line.name);
      return true;
    default:
      return false;
  }
}

/** The parts of the chat hub a typed line reaches. */
export interface ChatHubLike {
  say(id: string, text: string): unknown;
  away(id: string, minutes: number | null, reason: string): unknown;
  back(id: string): unknown;
  rename(id: string, name: string): unknown;
}

/** One side's commands as a help line lists them: `usage` ("/away 60 REASON · /back · ..."), `help` or `hint`. */
export function slashUsage(side: ChatSide, form: 'usage' | 'help' | 'hint' = 'usage'): string {
  return SLASH_COMMANDS.filter((each) => each.sides.includes(side))
    .map((each) => each[form])
    .filter((text) => text !== undefined)
    .join(' · ');
}
