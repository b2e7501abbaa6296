// The guarded cutover where it is real: the upgrader reaches the site only through the
// gateway's address, and the gateway is what is being swapped (network namespaces, OpenSSH's
// sshd in each, test/support/netns-site.ts). The built binary runs a runbook in plain mode
// whose guard spans the swap, the cable move and the checks from outside:
//   (a) the swap succeeds: the logins after it go through the new gateway, and the guard
//       commits from new connections;
//   (b) the new gateway routes wrong: nothing reaches the site, the deadline passes, both
//       machines revert by themselves, and the run goes on through the old gateway and falls
//       back cleanly;
//   (c) the old machine's main sshd stops inside the block: its spare way in carries the run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { converse, freshStateDir } from '../support/cli.js';
import { NetnsSite, netnsSiteAvailable } from '../support/netns-site.js';
import { guardEntries, onlySessionJournal } from '../support/session-journal.js';

const available = netnsSiteAvailable();
if (!available) console.warn('\n!! SKIPPING the guarded cutover rehearsals: they need root, `ip netns` (iproute2), arping and sshd.\n');

describe.skipIf(!available)('a guarded gateway swap, reached through the gateway', () => {
  let site: NetnsSite;
  let dir: string;
  beforeAll(async () => {
    site = await NetnsSite.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-cutover-'));
    writeFileSync(path.join(dir, 'ssh_config'), '');
    writeFileSync(path.join(dir, 'known_hosts'), '');
  }, 60_000);
  afterAll(() => {
    site?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  // Each rehearsal starts from the site as it was built: dragon holds the gateway's addresses.
  beforeEach(() => {
    const address = site.gatewayAddress;
    site.run(
      'dolphin',
      `ip addr del ${address}/24 dev wan0 2>/dev/null; ip addr del ${address}/24 dev lan0 2>/dev/null; ip addr del 192.168.10.1/24 dev lan0 2>/dev/null; true`,
    );
    site.run(
      'dragon',
      `ip addr add ${address}/24 dev wan0 2>/dev/null; ip addr add 192.168.10.1/24 dev lan0 2>/dev/null; arping -q -U -c 1 -I wan0 ${address}; true`,
    );
  });

  function runbook(options: { wanDevice?: string; spare?: boolean; after?: string } = {}): string {
    const address = site.gatewayAddress;
    const key = site.clientKey.privateKeyFile;
    const login = `user: root, identity_file: ${key}`;
    const file = path.join(dir, `cutover-${Math.random().toString(16).slice(2, 8)}.yaml`);
    const spare = options.spare ? `, spare_access: { port: 2222, config: ${site.configFile('dragon')}, lifetime: 5m }` : '';
    writeFileSync(
      file,
      `name: guarded gateway swap
hosts:
  gateway: { address: ${address}, ${login}, host_keys: [${site.hostKeyLine('dragon', { until: 'swap' })}, ${site.hostKeyLine('dolphin', { from: 'swap' })}] }
  dragon: { address: 192.168.10.11, ${login}, proxy_jump: gateway, host_keys: [${site.hostKeyLine('dragon')}]${spare} }
  dolphin: { address: 192.168.10.20, ${login}, proxy_jump: gateway, host_keys: [${site.hostKeyLine('dolphin')}] }
vars:
  address: ${address}
  wan_device: ${options.wanDevice ?? 'wan0'}
phases:
  - name: prepare
    steps:
      - run: echo "the gateway is $MACHINE"
        host: gateway
  - name: swap
    guard:
      revert_after: ${options.after ?? '25s'}
      through: verify
      revert:
        dragon: |
          i=0; until arping -q -D -c 1 -w 1 -I wan0 {{address}}; do i=$((i+1)); [ $i -lt 60 ] || { echo "{{address}} is still taken" >&2; exit 1; }; sleep 0.5; done
          ip addr add {{address}}/24 dev wan0; ip addr add 192.168.10.1/24 dev lan0
          arping -q -U -c 2 -I wan0 {{address}}; echo "dragon is the gateway again"
        dolphin: |
          for dev in wan0 lan0; do ip addr del {{address}}/24 dev $dev 2>/dev/null; done
          ip addr del 192.168.10.1/24 dev lan0 2>/dev/null; echo "dolphin let go"
    steps:
      - title: dolphin stands by to take the gateway's addresses once dragon lets go
        host: dolphin
        run: |
          setsid sh -c 'i=0; until arping -q -D -c 1 -w 1 -I wan0 "$1"; do i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.3; done
            ip addr add "$1"/24 dev "$2"; ip addr add 192.168.10.1/24 dev lan0
            arping -q -U -c 2 -I "$2" "$1"' standby {{address}} {{wan_device}} </dev/null >/dev/null 2>&1 &
          echo standing by
      - title: dragon lets go of the gateway's addresses
        host: dragon
        run: ip addr del {{address}}/24 dev wan0 && ip addr del 192.168.10.1/24 dev lan0
      - title: The gateway's address is dolphin now
        host: gateway
        run: echo "the gateway is $MACHINE"; [ "$MACHINE" = dolphin ]
      - checkpoint: The modem cable is in the new gateway
  - name: verify
    steps:
      - title: The gateway answers from outside
        local: ping -c 1 -W 2 {{address}}
      - title: dragon holds none of the gateway's addresses
        host: dragon
        run: ip -br addr; ! ip -o addr show dev wan0 | grep -q {{address}}
fallback:
  - title: The gateway is dragon again
    host: gateway
    run: echo "the gateway is $MACHINE"; [ "$MACHINE" = dragon ]
`,
    );
    return file;
  }

  function start(file: string, onCheckpoint: () => void = () => {}) {
    const stateDir = freshStateDir();
    const run = converse(
      ['run', '--plain', '--no-helpers', file, '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', path.join(dir, 'known_hosts')],
      (line) => {
        if (!/Waiting for the upgrader\. Type yes/.test(line)) return undefined;
        onCheckpoint();
        return 'yes';
      },
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    return { run, stateDir };
  }

  it('(a) swaps, goes on through the new gateway, and commits after the cable and the outside checks', async () => {
    const { run, stateDir } = start(runbook());
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(/^gateway\| the gateway is dragon$/m);
    expect(text).toMatch(/^gateway\| the gateway is dolphin$/m);
    expect(text).toMatch(/nightshift: dragon answered a new connection: its revert is disarmed and the changes stay/);
    expect(guardEntries(stateDir)).toEqual(['guard.armed dolphin', 'guard.armed dragon', 'guard.committed dolphin', 'guard.committed dragon']);
    expect(site.addresses('dolphin', 'wan0')).toEqual([`${site.gatewayAddress}/24`]);
    expect(site.addresses('dragon', 'wan0')).toEqual([]);
  }, 120_000);

  it('(b) a new gateway that routes wrong: the deadline passes, both revert by themselves, and the run falls back through the old gateway', async () => {
    const started = Date.now();
    const { run, stateDir } = start(runbook({ wanDevice: 'lan0' }));
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(3);
    const text = run.lines.join('\n');
    expect(Date.now() - started).toBeGreaterThan(25_000);
    expect(text).toMatch(/dragon revert\| dragon is the gateway again/);
    expect(text).toMatch(/nightshift: dragon: the revert ran at .* by itself, at its deadline and exited 0/);
    expect(text).toMatch(/nightshift: dolphin: the revert ran at .* by itself, at its deadline and exited 0/);
    expect(text).toMatch(/^gateway\| the gateway is dragon$/m);
    expect(text).toMatch(/ok F1 The gateway is dragon again/);
    expect(guardEntries(stateDir)).toEqual(['guard.armed dolphin', 'guard.armed dragon', 'guard.fired dolphin by deadline', 'guard.fired dragon by deadline']);
    expect(site.addresses('dragon', 'wan0')).toEqual([`${site.gatewayAddress}/24`]);
    expect([...site.addresses('dolphin', 'wan0'), ...site.addresses('dolphin', 'lan0')]).toEqual(['192.168.10.20/24']);
  }, 180_000);

  it("(c) the old machine's main sshd stops inside the block: its spare way in carries the run to the commit", async () => {
    const { run, stateDir } = start(runbook({ spare: true }), () => site.stopSshd('dragon'));
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(/nightshift: dragon: a spare way in is up on port 2222 \(openssh \S+sshd\)/);
    expect(text).toMatch(/ok 3\.2 dragon holds none of the gateway's addresses/);
    const journal = onlySessionJournal(stateDir);
    expect(journal.find((entry) => entry['type'] === 'host.state' && entry['host'] === 'dragon' && entry['through'] !== undefined)).toMatchObject({
      state: 'connected',
      through: expect.stringMatching(/^the spare way in on port 2222 \(the main port: /),
    });
    expect(guardEntries(stateDir)).toEqual(
      expect.arrayContaining(['guard.spare-up dragon', 'guard.committed dragon', 'guard.committed dolphin', 'guard.spare-stopped dragon']),
    );
  }, 120_000);
});
