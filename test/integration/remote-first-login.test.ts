// A step's first login over a link that is down for a moment: the pool tries again within
// the reconnect window, as after a drop, and says so; a refusal that will not change still
// ends it at once.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { HostKeyMismatchError } from '../../src/remote/errors.js';
import type { HostPool } from '../../src/remote/host-pool.js';
import type { ConnectionState } from '../../src/remote/types.js';
import { generateKeyPair } from '../support/ssh-keys.js';
import { makeHome, poolFor, removeHome, run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { withSshd } from '../support/with-sshd.js';

describeWithSshd('the first login of a step over a link that is down', () => {
  const host = withSshd();
  let relay: TcpRelay;
  let home: string;
  let pool: HostPool | undefined;
  let states: ConnectionState[];

  beforeAll(async () => {
    relay = await TcpRelay.start(host.sshd.port);
  });
  afterAll(async () => {
    await relay?.close();
  });
  afterEach(async () => {
    relay.resetNext(0);
    await pool?.close();
    pool = undefined;
    removeHome(home);
  });

  function freshPool(knownKey = host.sshd.hostKey().publicKey, reconnectForMs?: number): HostPool {
    home = makeHome();
    mkdirSync(path.join(home, '.ssh'));
    writeFileSync(path.join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${relay.port} ${knownKey}\n`);
    pool = poolFor(host.sshd, { home, spec: { port: relay.port }, ...(reconnectForMs !== undefined ? { reconnectForMs } : {}) });
    states = [];
    pool.subscribe(() => states.push(pool!.state('dragon')));
    return pool;
  }

  it('connections reset at the first login are tried again with growing pauses, publishing each attempt, and the command runs', async () => {
    const hosts = freshPool();
    relay.resetNext(3);
    const started = Date.now();
    const result = await run(hosts, 'echo through');
    expect(result.stdout).toBe('through\n');
    expect(relay.resets).toBeGreaterThanOrEqual(3);
    const reconnecting = states.filter((state): state is Extract<ConnectionState, { state: 'reconnecting' }> => state.state === 'reconnecting');
    expect(reconnecting.map((state) => state.attempt)).toEqual([1, 2, 3]);
    expect(reconnecting[0]!.error).toMatch(/the connection was reset/);
    // The pauses grow as after a drop: 1 s, 2 s, 4 s.
    expect(reconnecting[1]!.nextTryAt - reconnecting[0]!.nextTryAt).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeGreaterThanOrEqual(6500);
    expect(states.map((state) => state.state)).toEqual(['connecting', 'reconnecting', 'reconnecting', 'reconnecting', 'connected']);
  }, 30_000);

  it('a link that stays down past the reconnect window ends with a plain error and the host lost', async () => {
    const hosts = freshPool(host.sshd.hostKey().publicKey, 2500);
    relay.resetNewWhile(() => true);
    const failed = await run(hosts, 'echo never').catch((error: unknown) => error as Error);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(
      /^Cannot reach dragon: no login within 3 s of trying \(last: Could not connect to dragon at 127\.0\.0\.1:\d+: the connection was reset\./,
    );
    expect(states.at(-1)).toMatchObject({ state: 'lost' });
  }, 30_000);

  it('a host key that does not match ends the first login at once, without trying again', async () => {
    const stranger = await generateKeyPair(host.sshd.dir, 'stranger_host_key', { comment: 'stranger' });
    const hosts = freshPool(stranger.publicKey);
    const started = Date.now();
    const failed = await run(hosts, 'echo never').catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(HostKeyMismatchError);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(states.map((state) => state.state)).toEqual(['connecting', 'failed']);
  }, 30_000);
});
