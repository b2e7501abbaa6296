// Closing a connection waits for its goodbye to leave, not for the server to hang up: over a
// long link that answer is a round trip at the end of every run (two through a ProxyJump).
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { withRelayedPool } from '../support/relayed-pool.js';
import { run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

describeWithSshd('closing a connection', () => {
  const host = withSshd();
  const relayed = withRelayedPool(host);

  it('is done once the goodbye has gone out, though the server has not hung up yet', async () => {
    const hosts = relayed.fresh();
    expect((await run(hosts, 'echo hello')).stdout).toBe('hello\n');
    relayed.relay.holdReplies();
    const sent = relayed.relay.bytes().toServer;
    // Well before the 2 s after which a server that never hangs up is cut off.
    const outcome = await Promise.race([hosts.close().then(() => 'closed'), sleep(1000).then(() => 'still waiting')]);
    expect(outcome).toBe('closed');
    await waitFor(() => relayed.relay.bytes().toServer > sent, { what: 'the goodbye reaching the server' });
  }, 30_000);
});
