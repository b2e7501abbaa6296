import { EventEmitter } from 'node:events';
import type { Client, SFTPWrapper } from 'ssh2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection } from './connection.js';
import type { ResolvedHost } from './types.js';

function fakeSession(): SFTPWrapper & { ended: number } {
  const session = Object.assign(new EventEmitter(), { ended: 0, end: () => session.ended++ });
  return session as unknown as SFTPWrapper & { ended: number };
}

const connection = () => new Connection(new EventEmitter() as unknown as Client, { name: 'h1', address: '127.0.0.1', port: 22 } as ResolvedHost);

describe('the SFTP session kept on a connection', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is ended, not handed out, once nobody took it within its time', () => {
    vi.useFakeTimers();
    const kept = connection();
    const session = fakeSession();
    kept.keepSftp(session, 60_000);
    vi.advanceTimersByTime(59_999);
    expect(session.ended).toBe(0);
    vi.advanceTimersByTime(1);
    expect(session.ended).toBe(1);
    expect(kept.takeKeptSftp()).toBeUndefined();
  });

  it("is handed out once, and then is the taker's: its time no longer ends it", () => {
    vi.useFakeTimers();
    const kept = connection();
    const session = fakeSession();
    kept.keepSftp(session, 1000);
    expect(kept.takeKeptSftp()).toBe(session);
    expect(kept.takeKeptSftp()).toBeUndefined();
    vi.advanceTimersByTime(5000);
    expect(session.ended).toBe(0);
  });

  it('a second one ends the first; closing the connection ends the one kept', async () => {
    const kept = connection();
    const first = fakeSession();
    const second = fakeSession();
    kept.keepSftp(first, 1000);
    kept.keepSftp(second, 1000);
    expect(first.ended).toBe(1);
    expect(second.ended).toBe(0);
    const client = kept.client as unknown as EventEmitter & { end(): void };
    client.end = () => client.emit('close');
    await kept.close();
    expect(second.ended).toBe(1);
  });
});
