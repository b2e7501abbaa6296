// A step's first login over a link that is down for a moment: the pool tries again within
// the reconnect window, as after a drop, and says so; a refusal that will not change still
// ends it at once.
import { expect, it } from 'vitest';
import { HostKeyMismatchError } from '../../src/remote/errors.js';

import type { ConnectionState } from '../../src/remote/types.js';
import { generateKeyPair } from '../support/ssh-keys.js';
import { run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { withRelayedPool } from '../support/relayed-pool.js';
import { withSshd } from '../support/with-sshd.js';

describeWithSshd('the first login of a step over a link that is down', () => {
  const host = withSshd();
  const relayed = withRelayedPool(host);
  const freshPool = relayed.fresh;

  it('connections reset at the first login are tried again with growing pauses, publishing each attempt, and the command runs', async () => {
    const hosts = freshPool();
    relayed.relay.resetNext(3);
    const started = Date.now();
    const result = await run(hosts, 'echo through');
    expect(result.stdout).toBe('through\n');
    expect(relayed.relay.resets).toBeGreaterThanOrEqual(3);
    const reconnecting = relayed.states.filter((state): state is Extract<ConnectionState, { state: 'reconnecting' }> => state.state === 'reconnecting');
    expect(reconnecting.map((state) => state.attempt)).toEqual([1, 2, 3]);
    expect(reconnecting[0]!.error).toMatch(/the connection was reset/);
    // The pauses grow as after a drop: 1 s, 2 s, 4 s.
    expect(reconnecting[1]!.nextTryAt - reconnecting[0]!.nextTryAt).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeGreaterThanOrEqual(6500);
    expect(relayed.states.map((state) => state.state)).toEqual(['connecting', 'reconnecting', 'reconnecting', 'reconnecting', 'connected']);
  }, 30_000);

  it('a link that stays down past the reconnect window ends with a plain error and the host lost', async () => {
    const hosts = freshPool(host.sshd.hostKey().publicKey, 2500);
    relayed.relay.resetNewWhile(() => true);
    const failed = await run(hosts, 'echo never').catch((error: unknown) => error as Error);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(
      /^Cannot reach dragon: no login within 3 s of trying \(last: Could not connect to dragon at 127\.0\.0\.1:\d+: the connection was reset\./,
    );
    expect(relayed.states.at(-1)).toMatchObject({ state: 'lost' });
  }, 30_000);

  it('a host key that does not match ends the first login at once, without trying again', async () => {
    const stranger = await generateKeyPair(host.sshd.dir, 'stranger_host_key', { comment: 'stranger' });
    const hosts = freshPool(stranger.publicKey);
    const started = Date.now();
    const failed = await run(hosts, 'echo never').catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(HostKeyMismatchError);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(relayed.states.map((state) => state.state)).toEqual(['connecting', 'failed']);
  }, 30_000);
});
