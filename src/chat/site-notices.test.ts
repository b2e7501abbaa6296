import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { ChatHub } from './hub.js';
import { SiteNotices } from './site-notices.js';

describe('SiteNotices', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setUp() {
    const journal: Array<{ type: string; fields: Record<string, unknown> }> = [];
    const hub = new ChatHub((type, fields) => journal.push({ type, fields }));
    const sent: string[] = [];
    const notices = new SiteNotices({
      hub,
      broadcast: async (text) => void sent.push(text),
      where: 'wall on dragon',
      everyMs: 60_000,
      joinHint: 'Join: ssh -p 2222 sentinel@localhost',
      journal: (type, fields) => journal.push({ type, fields }),
    });
    return { hub, sent, notices, journal };
  }

  test('a need is broadcast at once and again at the interval until a helper joins', async () => {
    const { hub, sent, notices, journal } = setUp();
    notices.need('Plug the modem into the new dragon');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(['nightshift: the upgrader needs someone on site: Plug the modem into the new dragon\nJoin: ssh -p 2222 sentinel@localhost']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toContain('still waiting for someone on site: Plug the modem');
    hub.join({ role: 'sentinel', name: 'mia', tz: 'UTC' });
    await vi.advanceTimersByTimeAsync(180_000);
    expect(sent).toHaveLength(2);
    expect(journal.filter((e) => e.type === 'chat.broadcast')).toHaveLength(2);
    notices.close();
  });

  test('settled needs stop; messages go out only while nobody is there', async () => {
    const { hub, sent, notices } = setUp();
    notices.need('Power-cycle dragon');
    notices.need(null);
    await vi.advanceTimersByTimeAsync(300_000);
    expect(sent).toHaveLength(1);
    notices.message('kim', 'call me when you are in');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent[1]).toContain('message from kim: call me when you are in');
    hub.join({ role: 'observer', name: 'olaf', tz: 'UTC' });
    notices.message('kim', 'hello olaf');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(2);
    notices.close();
  });

  test('a failed broadcast is journaled and said in the chat', async () => {
    const journal: Array<{ type: string; fields: Record<string, unknown> }> = [];
    const hub = new ChatHub(() => {});
    const notices = new SiteNotices({
      hub,
      broadcast: async () => {
        throw new Error('wall: command not found');
      },
      where: 'wall on dragon',
      everyMs: 60_000,
      joinHint: '',
      journal: (type, fields) => journal.push({ type, fields }),
    });
    notices.need('Check the cable');
    await vi.advanceTimersByTimeAsync(0);
    expect(journal[0]?.fields.error).toBe('wall: command not found');
    expect(hub.messages().at(-1)?.text).toBe('could not send with wall on dragon: wall: command not found');
    notices.close();
  });
});
