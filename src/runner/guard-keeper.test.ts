import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import type { RemoteHosts } from './remote-hosts.js';
import { GuardKeeper, guardsOf } from './guard.js';

const runbook = parseRunbook(
  `name: t
hosts:
  dragon: {}
phases:
  - name: swap
    guard:
      revert_after: 10m
      revert:
        dragon: ip addr add 192.0.2.1/24 dev eth0
    steps:
      - run: ip addr del 192.0.2.1/24 dev eth0
        host: dragon
        id: let-go
    fallback:
      - run: echo undo
        host: dragon
        id: undo
`,
  'rb.yaml',
);

/** The keeper's hosts are asked nothing here. */
const noHosts = {} as RemoteHosts;

describe('GuardKeeper', () => {
  it("refuses the block's own steps once a deadline has passed, not the fallback that undoes it, nor while time is left", () => {
    const keeper = new GuardKeeper(noHosts, 's', () => {}, guardsOf(runbook));
    keeper.restore([{ type: 'guard.armed', guard: 'swap', host: 'dragon', how: 'sleeper 1', deadline: 1_000_000, afterMs: 600_000 }]);
    expect(keeper.expiredFor('let-go', 999_999)).toBeNull();
    expect(keeper.expiredFor('let-go', 1_000_000)).toBe(
      "the guard's deadline has passed on dragon: the revert ran there by itself, so nothing more of the block is done",
    );
    expect(keeper.expiredFor('undo', 2_000_000)).toBeNull();
    expect(keeper.expiredFor('swap-guard-fire', 2_000_000)).toBeNull();
    // Moved later, then fired: no longer a reason.
    keeper.restore([{ type: 'guard.extended', guard: 'swap', host: 'dragon', deadline: 3_000_000 }]);
    expect(keeper.expiredFor('let-go', 2_000_000)).toBeNull();
    keeper.restore([{ type: 'guard.fired', guard: 'swap', host: 'dragon', by: 'nightshift', exitCode: 0 }]);
    expect(keeper.expiredFor('let-go', 4_000_000)).toBeNull();
    expect(keeper.active()).toBeNull();
  });
});
