// The check before a run hands its logins to the run: a kept connection that drops before
// anything used it is forgotten quietly (idle, with why) and the next command logs in again;
// once used, a drop is the user's to hear of, as before.
import { expect, it } from 'vitest';

import { run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { withRelayedPool } from '../support/relayed-pool.js';
import { withSshd } from '../support/with-sshd.js';

describeWithSshd('a login of the check kept for the run', () => {
  const host = withSshd();
  const relayed = withRelayedPool(host);
  const freshPool = relayed.fresh;

  async function until(done: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`not reached; states: ${JSON.stringify(relayed.states)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('is shown connected by the check; a drop before any use leaves the host idle, and the next command logs in again', async () => {
    const hosts = freshPool();
    await hosts.connect('dragon');
    await run(hosts, 'echo probed');
    hosts.handOverToRun();
    expect(hosts.state('dragon')).toMatchObject({ state: 'connected', loggedInBy: 'check' });
    relayed.relay.cut();
    await until(() => hosts.state('dragon').state === 'idle');
    expect(hosts.state('dragon')).toMatchObject({ error: expect.stringMatching(/^the link kept from the check dropped before a step used it \(/) });
    expect((await run(hosts, 'echo again')).stdout).toBe('again\n');
    expect(relayed.states.map((state) => state.state)).toEqual(['connecting', 'connected', 'connected', 'idle', 'connecting', 'connected']);
  }, 30_000);

  it('once a command used it, a drop is a failure to show, as for any other link', async () => {
    const hosts = freshPool();
    await hosts.connect('dragon');
    hosts.handOverToRun();
    expect((await run(hosts, 'echo used')).stdout).toBe('used\n');
    relayed.relay.cut();
    await until(() => hosts.state('dragon').state === 'failed');
    expect(relayed.states.map((state) => state.state)).toEqual(['connecting', 'connected', 'connected', 'failed']);
  }, 30_000);

  it('a host the check could not log in to is idle again for the run', async () => {
    const hosts = freshPool();
    relayed.relay.resetNext(1);
    await expect(hosts.connect('dragon')).rejects.toThrow(/reset/);
    expect(hosts.state('dragon').state).toBe('failed');
    hosts.handOverToRun();
    expect(hosts.state('dragon')).toEqual({ state: 'idle' });
  }, 30_000);
});
