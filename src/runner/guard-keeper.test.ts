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

describe('GuardKeeper and a spare way in with also', () => {
  const book = parseRunbook(
    `name: t
hosts:
  dolphin: { spare_access: { port: 1022, also: [dragon, gateway] } }
  dragon: {}
  gateway: {}
phases:
  - name: swap
    guard:
      revert_after: 10m
      revert:
        dolphin: { run: echo undo, also: [dragon] }
    steps:
      - run: echo take the address
        host: dolphin
`,
    'rb.yaml',
  );

  /** Hosts whose stop script answers as `answers` says, by name: a report, or an error (no answer). */
  function fakeHosts(answers: Record<string, string | Error>) {
    const spares = new Map<string, number>();
    const asked: string[] = [];
    const run = async (host: string, command: string, handlers: { onStdout(chunk: Buffer): void }) => {
      asked.push(host);
      expect(command).toContain('ID=s/dolphin.spare\n');
      const answer = answers[host];
      if (answer instanceof Error) throw answer;
      handlers.onStdout(Buffer.from(answer ?? ''));
      return { exitCode: 0 };
    };
    const hosts = {
      exec: run,
      execOnNewConnection: run,
      states: () => ({}),
      setSpare: (host: string, port: number | null) => (port === null ? spares.delete(host) : spares.set(host, port)),
    } as unknown as RemoteHosts;
    return { hosts, spares, asked };
  }
  const up = { type: 'guard.spare-up', guard: 'swap', host: 'dolphin', port: 1022, server: 'openssh /usr/sbin/sshd' } as const;
  const stopped = 'pid=42\nserver=openssh /usr/sbin/sshd\nstopped=1700000000\nalive=no\nend=ok\n';
  const notHere = 'missing=yes\nend=ok\n';

  it('hands the spare to every name of the machine, and stops it through the first name that has it: not one that is not there, nor one that does not answer', async () => {
    const { hosts, spares, asked } = fakeHosts({ dolphin: new Error('no route to host'), dragon: notHere, gateway: stopped });
    const events: unknown[] = [];
    const keeper = new GuardKeeper(hosts, 's', (event) => events.push(event), guardsOf(book));
    keeper.restore([up]);
    expect([...spares]).toEqual([
      ['dolphin', 1022],
      ['dragon', 1022],
      ['gateway', 1022],
    ]);
    expect(await keeper.stopSpares()).toEqual({ stopped: [{ host: 'dolphin', through: 'gateway', found: true }], problems: [] });
    expect(asked).toEqual(['dolphin', 'dragon', 'gateway']);
    expect(events).toEqual([{ type: 'guard.spare-stopped', guard: 'swap', host: 'dolphin', through: 'gateway' }]);
    expect(spares.size).toBe(0);
    expect(keeper.sparesOf('swap')).toEqual([]);
  });

  it('stops it through the host itself when it answers, and asks no other name', async () => {
    const { hosts, asked } = fakeHosts({ dolphin: stopped });
    const events: unknown[] = [];
    const keeper = new GuardKeeper(hosts, 's', (event) => events.push(event), guardsOf(book));
    keeper.restore([up]);
    expect(await keeper.stopSpares()).toEqual({ stopped: [{ host: 'dolphin', through: 'dolphin', found: true }], problems: [] });
    expect(asked).toEqual(['dolphin']);
    expect(events).toEqual([{ type: 'guard.spare-stopped', guard: 'swap', host: 'dolphin' }]);
  });

  it('says so when no name that answered has it, and cannot tell when one did not answer', async () => {
    const nowhere = fakeHosts({ dolphin: notHere, dragon: notHere, gateway: notHere });
    const keeper = new GuardKeeper(nowhere.hosts, 's', () => {}, guardsOf(book));
    keeper.restore([up]);
    expect(await keeper.stopSpares()).toEqual({ stopped: [{ host: 'dolphin', through: 'dolphin', found: false }], problems: [] });

    const unanswered = fakeHosts({ dolphin: notHere, dragon: new Error('connection refused'), gateway: notHere });
    const unsure = new GuardKeeper(unanswered.hosts, 's', () => {}, guardsOf(book));
    unsure.restore([up]);
    expect(await unsure.stopSpares()).toEqual({
      stopped: [],
      problems: [
        'the spare way in to dolphin could not be stopped: dolphin: it is not there; dragon: connection refused; gateway: it is not there; it stops by itself after its lifetime',
      ],
    });
    expect(unsure.sparesOf('swap')).toEqual(['dolphin']);
    // Taken from the pool all the same: its names log in by their main ports only.
    expect(unanswered.spares.size).toBe(0);
  });
});
