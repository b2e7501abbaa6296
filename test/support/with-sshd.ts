// The set-up most integration suites share, registered in one call inside a describe:
//
//   const host = withSshd();                                  // host.sshd for the whole suite
//   const host = withSshd({ hostKeyTypes: ['ecdsa'] }, { home: 'test' });  // + a fresh host.home per test
//   const host = withSshd({ fakeBootId: true }, { pool: true });           // + host.home and host.pool per suite
//   const host = withSshd({}, { home: 'test', pool: true });               // + both, fresh for each test
//
// The sshd starts before the suite's first test and stops after its last; the HOME folders
// are removed and the pool closed even when a test fails. Hooks the suite registers after
// this call run after these set-ups and before these clean-ups (vitest runs before-hooks in
// order, after-hooks in reverse), so they may use host.sshd.
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { HostPool } from '../../src/remote/host-pool.js';
import { makeHome, poolFor, removeHome } from './ssh-pool.js';
import { Sshd, type SshdOptions } from './sshd.js';

export interface WithSshdOptions {
  /** A private HOME on this side (see makeHome): `suite` one for the describe (the default with a pool), `test` a fresh one for each test. */
  home?: 'suite' | 'test';
  /** A pool on the sshd (poolFor's defaults, host 'dragon') with that HOME, made and closed with it. */
  pool?: boolean;
}

export interface SshdFixture {
  readonly sshd: Sshd;
  /** The HOME folder of the suite or of the running test (home or pool option). */
  readonly home: string;
  /** The pool of the suite or of the running test (pool option). */
  readonly pool: HostPool;
}

export function withSshd(sshdOptions: SshdOptions = {}, options: WithSshdOptions = {}): SshdFixture {
  let sshd: Sshd | undefined;
  let home: string | undefined;
  let pool: HostPool | undefined;
  const homeFor = options.home ?? (options.pool ? 'suite' : undefined);

  const makeHomeAndPool = (server: Sshd) => {
    home = makeHome();
    if (options.pool) pool = poolFor(server, { home });
  };
  const removeHomeAndPool = async () => {
    try {
      await pool?.close();
    } finally {
      if (home) removeHome(home);
      pool = undefined;
      home = undefined;
    }
  };

  beforeAll(async () => {
    sshd = await Sshd.start(sshdOptions);
    if (homeFor === 'suite') makeHomeAndPool(sshd);
  });
  afterAll(async () => {
    try {
      await removeHomeAndPool();
    } finally {
      await sshd?.stop();
    }
  });
  if (homeFor === 'test') {
    beforeEach(() => {
      if (sshd) makeHomeAndPool(sshd);
    });
    afterEach(removeHomeAndPool);
  }

  const present = <T>(value: T | undefined, name: string, option: string): T => {
    if (value !== undefined) return value;
    throw new Error(
      `withSshd: no ${name} ${option === '' ? 'yet (read it inside a test or hook)' : `(call withSshd with ${option}, and read it inside a test or hook)`}`,
    );
  };
  return {
    get sshd() {
      return present(sshd, 'sshd', '');
    },
    get home() {
      return present(home, 'home', "{ home: 'suite' | 'test' } or { pool: true }");
    },
    get pool() {
      return present(pool, 'pool', '{ pool: true }');
    },
  };
}
