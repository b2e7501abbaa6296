import { describe, expect, test } from 'vitest';
import { cleanChatText, MAX_MESSAGE_CHARS, parseChatLine, pastedMessage } from './chat-text.js';
import { ChatHub } from './hub.js';

function hubAt(start = Date.UTC(2026, 10, 29, 3, 0)) {
  let now = start;
  const journal: Array<{ type: string; fields: Record<string, unknown> }> = [];
  const hub = new ChatHub((type, fields) => journal.push({ type, fields }), () => now);
  return { hub, journal, advance: (ms: number) => (now += ms) };
}

describe('chat text', () => {
  test('escape sequences and control characters never get through', () => {
    const hostile = 'hi\x1b[2J\x1b]0;owned\x07 there\r\nsecond\x07 line\x9b31m\x00';
    const clean = cleanChatText(hostile);
    expect(clean).toBe('hi there second line');
    // eslint-disable-next-line no-control-regex
    expect(clean).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
  });

  test('long messages are cut at the limit', () => {
    const text = cleanChatText('x'.repeat(MAX_MESSAGE_CHARS * 3));
    expect(text.length).toBe(MAX_MESSAGE_CHARS);
    expect(text.endsWith('…')).toBe(true);
  });

  test('slash commands', () => {
    expect(parseChatLine('/away 60 lunch')).toEqual({ kind: 'away', minutes: 60, reason: 'lunch' });
    expect(parseChatLine('/away at the modem')).toEqual({ kind: 'away', minutes: null, reason: 'at the modem' });
    expect(parseChatLine('/back')).toEqual({ kind: 'back' });
    expect(parseChatLine('/ok dragon')).toEqual({ kind: 'ok', value: 'dragon' });
    expect(parseChatLine('/ok')).toEqual({ kind: 'ok', value: '' });
    expect(parseChatLine('//ok is a command')).toEqual({ kind: 'message', text: '/ok is a command' });
    expect(parseChatLine('/frobnicate')).toEqual({ kind: 'unknown', command: 'frobnicate' });
    expect(parseChatLine('   ')).toBeNull();
    expect(parseChatLine('the modem is in')).toEqual({ kind: 'message', text: 'the modem is in' });
  });
});

describe('ChatHub', () => {
  test('messages are stamped with the writer and their zone, cleaned, and journaled', () => {
    const { hub, journal } = hubAt();
    const upgrader = hub.join({ role: 'upgrader', name: 'kim', tz: 'Europe/Zurich' });
    const mia = hub.join({ role: 'sentinel', name: 'mia', tz: 'Asia/Jakarta' });
    hub.say(mia.id, 'modem \x1b[31mplugged\x1b[0m in');
    hub.say(upgrader.id, 'thanks');
    const said = hub.messages().filter((m) => m.from !== null);
    expect(said.map((m) => [m.from?.name, m.tz, m.text])).toEqual([
      ['mia', 'Asia/Jakarta', 'modem plugged in'],
      ['kim', 'Europe/Zurich', 'thanks'],
    ]);
    expect(journal.filter((e) => e.type === 'chat.message').map((e) => e.fields)).toEqual([
      { from: { role: 'sentinel', name: 'mia' }, text: 'modem plugged in', tz: 'Asia/Jakarta' },
      { from: { role: 'upgrader', name: 'kim' }, text: 'thanks', tz: 'Europe/Zurich' },
    ]);
  });

  test('hands: none without a sentinel, none while the only sentinel is away, back with /back', () => {
    const { hub, journal } = hubAt();
    expect(hub.hands()).toEqual({ available: false, why: 'no sentinel has joined' });
    hub.join({ role: 'observer', name: 'olaf', tz: 'UTC' });
    expect(hub.hands().available).toBe(false);
    const mia = hub.join({ role: 'sentinel', name: 'mia', tz: 'UTC' });
    expect(hub.hands()).toEqual({ available: true, why: '' });
    hub.away(mia.id, 60, 'lunch');
    expect(hub.hands()).toEqual({ available: false, why: 'mia is away (lunch)' });
    expect(journal.at(-1)).toEqual({ type: 'chat.away', fields: { id: 'mia', name: 'mia', role: 'sentinel', minutes: 60, reason: 'lunch' } });
    hub.back(mia.id);
    expect(hub.hands().available).toBe(true);
    hub.leave(mia.id);
    expect(hub.hands().available).toBe(false);
    expect(hub.messages().map((m) => m.text)).toEqual([
      'olaf (observer) joined',
      'mia (sentinel) joined',
      'mia is away for 60 min: lunch',
      'mia is back',
      'mia (sentinel) left',
    ]);
  });

  test('two helpers with the same name get distinct ids; typing shows for a few seconds', () => {
    const { hub, advance } = hubAt();
    const first = hub.join({ role: 'sentinel', name: 'sentinel', tz: 'UTC' });
    const second = hub.join({ role: 'sentinel', name: 'sentinel', tz: 'UTC' });
    expect([first.id, second.id]).toEqual(['sentinel', 'sentinel-2']);
    hub.typing(first.id);
    expect(hub.typists(second.id).map((p) => p.id)).toEqual(['sentinel']);
    expect(hub.typists(first.id)).toEqual([]);
    advance(3500);
    expect(hub.typists(second.id)).toEqual([]);
  });

  test('a name cannot carry escape sequences', () => {
    const { hub } = hubAt();
    const helper = hub.join({ role: 'sentinel', name: '\x1b]0;x\x07mia\x1b[5m', tz: 'UTC' });
    expect(helper.name).toBe('mia');
    hub.rename(helper.id, '\x1b[2JMia Wong');
    expect(hub.participant(helper.id)?.name).toBe('Mia Wong');
  });

  test('a paste is one message, cut at the limit with a note', () => {
    const text = Array.from({ length: 20_000 }, (_, i) => `line ${i + 1} of the paste`).join('\r');
    const message = pastedMessage(text.slice(0, 2000), true);
    expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    expect(message.length).toBeGreaterThan(MAX_MESSAGE_CHARS - 10);
    expect(message).toMatch(/^line 1 of the paste line 2 of the paste .*… \[pasted text cut at the 500-character limit\]$/);
    expect(pastedMessage('one\rtwo\r')).toBe('one two');
    expect(pastedMessage('x'.repeat(600))).toMatch(/^x{4}.*cut at the 500-character limit\]$/);
  });
});
