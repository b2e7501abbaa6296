// The check before a run hands its logins to the run: a kept connection that drops before
// anything used it is forgotten quietly (idle, with why) and the next command logs in again;
// once used, a drop is the user's to hear of, as before.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { HostPool } from '../../src/remote/host-pool.js';
import type { ConnectionState } from '../../src/remote/types.js';
import { makeHome, poolFor, removeHome, run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { withSshd } from '../support/with-sshd.js';

describeWithSshd('a login of the check kept for the run', () => {
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
    await pool?.close();
    pool = undefined;
    removeHome(home);
  });

  function freshPool(): HostPool {
    home = makeHome();
    mkdirSync(path.join(home, '.ssh'));
    writeFileSync(path.join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${relay.port} ${host.sshd.hostKey().publicKey}\n`);
    pool = poolFor(host.sshd, { home, spec: { port: relay.port } });
    states = [];
    pool.subscribe(() => states.push(pool!.state('dragon')));
    return pool;
  }

  async function until(done: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`not reached; states: ${JSON.stringify(states)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('is shown connected by the check; a drop before any use leaves the host idle, and the next command logs in again', async () => {
    const hosts = freshPool();
    await hosts.connect('dragon');
    await run(hosts, 'echo probed');
    hosts.handOverToRun();
    expect(hosts.state('dragon')).toMatchObject({ state: 'connected', loggedInBy: 'check' });
    relay.cut();
    await until(() => hosts.state('dragon').state === 'idle');
    expect(hosts.state('dragon')).toMatchObject({ error: expect.stringMatching(/^the link kept from the check dropped before a step used it \(/) });
    expect((await run(hosts, 'echo again')).stdout).toBe('again\n');
    expect(states.map((state) => state.state)).toEqual(['connecting', 'connected', 'connected', 'idle', 'connecting', 'connected']);
  }, 30_000);

  it('once a command used it, a drop is a failure to show, as for any other link', async () => {
    const hosts = freshPool();
    await hosts.connect('dragon');
    hosts.handOverToRun();
    expect((await run(hosts, 'echo used')).stdout).toBe('used\n');
    relay.cut();
    await until(() => hosts.state('dragon').state === 'failed');
    expect(states.map((state) => state.state)).toEqual(['connecting', 'connected', 'connected', 'failed']);
  }, 30_000);

  it('a host the check could not log in to is idle again for the run', async () => {
    const hosts = freshPool();
    relay.resetNext(1);
    await expect(hosts.connect('dragon')).rejects.toThrow(/reset/);
    expect(hosts.state('dragon').state).toBe('failed');
    hosts.handOverToRun();
    expect(hosts.state('dragon')).toEqual({ state: 'idle' });
  }, 30_000);
});
