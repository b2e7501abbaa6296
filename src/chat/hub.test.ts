import { describe, expect, test } from 'vitest';
import { nameProblem } from './chat-names.js';
import { TextField } from '../ui/text-field.js';
import { cleanChatText, MAX_MESSAGE_CHARS, parseChatLine, pastedMessage, typingShown } from './chat-text.js';
import { ChatHub, HELPER_BURST, HELPER_EVERY_MS } from './hub.js';

function hubAt(start = Date.UTC(2026, 10, 29, 3, 0)) {
  let now = start;
  const journal: Array<{ type: string; fields: Record<string, unknown> }> = [];
  const hub = new ChatHub(
    (type, fields) => journal.push({ type, fields }),
    () => now,
  );
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

  test('a slash command being typed shows no "typing…" to the others; a message does', () => {
    const { hub } = hubAt();
    const me = hub.join({ role: 'sentinel', name: 'bo', tz: 'UTC' });
    const other = hub.join({ role: 'upgrader', name: 'ana', tz: 'UTC' });
    const field = new TextField(
      { max: () => MAX_MESSAGE_CHARS, accepts: () => true, submit: () => {}, typed: (text) => typingShown(text) && hub.typing(me.id) },
      () => {},
    );
    field.type('/away 60 lunch');
    expect(hub.typists(other.id)).toEqual([]);
    field.clear();
    field.type('cable moved');
    expect(hub.typists(other.id).map((p) => p.name)).toEqual(['bo']);
    expect(typingShown('  /ok')).toBe(false);
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

  test('a sentinel marked away who confirms is back: the hands are there again, journaled as /back is', () => {
    const { hub, journal } = hubAt();
    const mia = hub.join({ role: 'sentinel', name: 'mia', tz: 'UTC' });
    hub.away(mia.id, 30, 'lunch');
    expect(hub.hands()).toEqual({ available: false, why: 'mia is away (lunch)' });
    hub.confirming(mia.id);
    expect(hub.hands()).toEqual({ available: true, why: '' });
    expect(journal.filter((entry) => entry.type === 'chat.back')).toHaveLength(1);
    expect(hub.messages().at(-1)?.text).toBe('mia (sentinel) is back');
    hub.confirming(mia.id);
    expect(journal.filter((entry) => entry.type === 'chat.back')).toHaveLength(1);
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
      'mia (sentinel) is away for 60 min: lunch',
      'mia (sentinel) is back',
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

  test('nobody takes a role, nightshift, root or another participant for a name, however it is spelled; only they are told', () => {
    const { hub, journal, advance } = hubAt();
    const kim = hub.join({ role: 'upgrader', name: 'kim', tz: 'UTC' });
    const mia = hub.join({ role: 'sentinel', name: 'mia', tz: 'UTC' });
    const olaf = hub.join({ role: 'observer', name: 'observer', tz: 'UTC' });
    // Slowly enough that no try is refused for its pace.
    const rename = (name: string) => {
      advance(HELPER_EVERY_MS);
      hub.rename(olaf.id, name);
    };
    const tries = [
      'root',
      'ROOT',
      '  Root  ',
      'r o o t',
      'r.o.o.t',
      'r\u200boot',
      'ro\u00adot',
      '\u202eroot',
      'r00t',
      'rооt' /* Cyrillic о */,
      'ｒｏｏｔ',
      'rööt',
      'nightshift',
      'Night Shift',
      'n1ghtsh1ft',
      'upgrader',
      'the upgrader',
      'upgrader2',
      'sentinel',
      'Sentinel-2',
      'system',
      'admin',
      'sysadmin',
      'Administrator',
      'kim',
      'KIM',
      'k i m',
      'k\u200dim',
      'mia',
      'm1a',
      'Mia\u2060',
      'kim (upgrader)',
      'mia: hello',
      '\u{1F600}',
      '',
      '   ',
      'x'.repeat(30),
    ];
    for (const name of tries) rename(name);
    expect(hub.participant(olaf.id)?.name).toBe('observer');
    expect(journal.filter((e) => e.type === 'chat.renamed')).toEqual([]);
    // Refusals were told to the observer alone, each with its reason, and journaled.
    const toOlaf = hub
      .messages(olaf.id)
      .filter((m) => m.to === olaf.id)
      .map((m) => m.text);
    expect(toOlaf).toHaveLength(tries.length);
    expect(toOlaf[0]).toBe('not renamed: "root" reads as a role or as nightshift itself: pick a name of your own');
    expect(hub.messages(mia.id).some((m) => m.to !== undefined)).toBe(false);
    expect(hub.messages().some((m) => m.to !== undefined)).toBe(false);
    expect(journal.filter((e) => e.type === 'chat.refused' && e.fields['reason'] === 'name')).toHaveLength(toOlaf.length);
    // Each reason on its own.
    expect(nameProblem('kim', ['kim'])).toMatch(/is taken/);
    expect(nameProblem('k\u200bim', ['kim'])).toMatch(/is taken/);
    expect(nameProblem('kim (upgrader)', [])).toMatch(/letters, digits, spaces/);
    expect(nameProblem('x'.repeat(30), [])).toMatch(/at most 24 characters/);
    expect(nameProblem('\u200b', [])).toMatch(/at least one letter/);
    // Names of one's own are fine, and shown with the role.
    for (const name of ['Olaf', 'Mia Wong', 'Kimberly', "O'Brien", 'José', 'Ali', 'Ro Ot-Ander']) expect(nameProblem(name, ['kim', 'mia'])).toBeNull();
    rename('Olaf\u200b  Berg');
    expect(hub.participant(olaf.id)?.name).toBe('Olaf Berg');
    expect(hub.messages().at(-1)?.text).toBe('observer (observer) is now called Olaf Berg');
    // The upgrader cannot take a helper's name either.
    hub.rename(kim.id, 'Mia');
    expect(hub.participant(kim.id)?.name).toBe('kim');
    expect(hub.messages(kim.id).at(-1)).toMatchObject({ to: kim.id, text: expect.stringMatching(/^not renamed: "Mia" is taken/) });
  });

  test('a helper says at most a burst in a row, then one every interval; the rest is refused and they are told once', () => {
    const { hub, journal, advance } = hubAt();
    const kim = hub.join({ role: 'upgrader', name: 'kim', tz: 'UTC' });
    const mia = hub.join({ role: 'sentinel', name: 'mia', tz: 'UTC' });
    const said = Array.from({ length: 50 }, (_, i) => hub.say(mia.id, `line ${i}`));
    expect(said.filter(Boolean)).toHaveLength(HELPER_BURST);
    expect(journal.filter((e) => e.type === 'chat.message')).toHaveLength(HELPER_BURST);
    const told = hub.messages(mia.id).filter((m) => m.to === mia.id);
    expect(told.map((m) => m.text)).toEqual([`too fast: that was not sent. At most ${HELPER_BURST} in a row, then one every 0.5 s`]);
    expect(journal.filter((e) => e.type === 'chat.refused')).toEqual([
      { type: 'chat.refused', fields: { id: mia.id, name: 'mia', role: 'sentinel', reason: 'too-fast', refused: 1 } },
    ]);
    // The upgrader is not held back, and sees none of it.
    expect(Array.from({ length: 20 }, (_, i) => hub.say(kim.id, `reply ${i}`)).every(Boolean)).toBe(true);
    expect(hub.messages(kim.id).some((m) => m.to !== undefined)).toBe(false);
    // Away, back and names are paced alike.
    hub.away(mia.id, 5, 'coffee');
    expect(hub.participant(mia.id)?.away).toBeNull();
    // One more after the interval; told again only after a while of going on too fast.
    advance(HELPER_EVERY_MS);
    expect(hub.say(mia.id, 'after a breath')).not.toBeNull();
    expect(hub.say(mia.id, 'too soon')).toBeNull();
    expect(hub.messages(mia.id).filter((m) => m.to === mia.id)).toHaveLength(2);
    advance(10 * HELPER_EVERY_MS);
    expect([1, 2, 3, 4, 5, 6].map((i) => hub.say(mia.id, `again ${i}`) !== null)).toEqual([true, true, true, true, true, false]);
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
