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

/** Reads one submitted line: `/away 60 lunch`, `/back`, `/ok dragon`, ... or a message. `//text` sends "/text". */
export function parseChatLine(raw: string): ChatLine | null {
  const line = cleanChatText(raw);
  if (line === '') return null;
  if (line.startsWith('//')) return { kind: 'message', text: line.slice(1) };
  if (!line.startsWith('/')) return { kind: 'message', text: line };
  const [command = '', ...rest] = line.slice(1).split(' ');
  const argument = rest.join(' ').trim();
  switch (command.toLowerCase()) {
    case 'away': {
      const [first = '', ...reason] = argument.split(' ');
      const minutes = /^\d{1,4}$/.test(first) ? Number(first) : null;
      return { kind: 'away', minutes, reason: (minutes === null ? argument : reason.join(' ')).trim() };
    }
    case 'back':
      return { kind: 'back' };
    case 'ok':
    case 'done':
      return { kind: 'ok', value: argument };
    case 'output':
    case 'out':
      return { kind: 'output' };
    case 'name':
    case 'nick':
      // Not cut here: a name too long is refused with a reason, not shortened without one.
      return { kind: 'name', name: argument };
    case 'code':
      return { kind: 'code' };
    case 'help':
    case '?':
      return { kind: 'help' };
    case 'quit':
    case 'exit':
    case 'bye':
      return { kind: 'quit' };
    default:
      return { kind: 'unknown', command };
  }
}
