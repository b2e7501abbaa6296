// A pool of one host ('dragon') that reaches the test sshd through a TCP relay the test can
// cut, reset or refuse with, a fresh HOME and pool per test, and the states the pool published.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { HostPool } from '../../src/remote/host-pool.js';
import type { ConnectionState } from '../../src/remote/types.js';
import { makeHome, poolFor, removeHome } from './ssh-pool.js';
import type { Sshd } from './sshd.js';
import { TcpRelay } from './tcp-relay.js';

export interface RelayedPool {
  readonly relay: TcpRelay;
  /** Every state 'dragon' went through in the pool made last, in order. */
  readonly states: ConnectionState[];
  /** A new HOME whose known_hosts holds `knownKey` for the relay's port, and a pool through the relay. */
  fresh(knownKey?: string, reconnectForMs?: number): HostPool;
}

/** Call inside a describe block: the relay lives as long as the block, each pool one test. */
export function withRelayedPool(host: { sshd: Sshd }): RelayedPool {
  let relay: TcpRelay | undefined;
  let home: string | undefined;
  let pool: HostPool | undefined;
  let states: ConnectionState[] = [];

  beforeAll(async () => {
    relay = await TcpRelay.start(host.sshd.port);
  });
  afterAll(async () => {
    await relay?.close();
  });
  afterEach(async () => {
    relay?.resetNext(0);
    await pool?.close();
    pool = undefined;
    if (home !== undefined) removeHome(home);
  });

  return {
    get relay() {
      return relay!;
    },
    get states() {
      return states;
    },
    fresh(knownKey = host.sshd.hostKey().publicKey, reconnectForMs?: number) {
      home = makeHome();
      mkdirSync(path.join(home, '.ssh'));
      writeFileSync(path.join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${relay!.port} ${knownKey}\n`);
      const made = poolFor(host.sshd, { home, spec: { port: relay!.port }, ...(reconnectForMs !== undefined ? { reconnectForMs } : {}) });
      pool = made;
      states = [];
      made.subscribe(() => states.push(made.state('dragon')));
      return made;
    },
  };
}
