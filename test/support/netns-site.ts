// A site behind its gateway, in network namespaces on this machine: the upgrader (this
// process's namespace) reaches only the gateway's WAN address; the machines' own addresses
// are on a LAN that only the machines are on, so every login to them goes through whatever
// holds the gateway's address. Each machine is a namespace with OpenSSH's sshd of its own
// (its own host key; $MACHINE in every session says which machine it is):
//
//     upgrader 198.18.N.1 ── WAN ── dragon  wan0 198.18.N.10 (the gateway's address)
//                                   lan0 192.168.10.11 + 192.168.10.1 (the gateway's LAN address)
//                                   dolphin wan0 (no address yet), lan0 192.168.10.20
//                            LAN ── elephant lan0 192.168.10.2
//
// N is drawn per site, so that sites of tests running side by side do not meet. Needs root
// and `ip netns`. Everything is named nsite<PID>…; a site whose test process died (kill -9)
// is swept away by the next one.
import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyPair, type KeyPair } from './ssh-keys.js';
import { spawnDyingWithTests } from './server-process.js';
import { LOGIN_SETTINGS } from './sshd.js';
import { waitFor } from './wait-for.js';

const SSHD = '/usr/sbin/sshd';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
export const MACHINES = ['dragon', 'dolphin', 'elephant'] as const;
export type SiteMachine = (typeof MACHINES)[number];

/** Whether this machine can make the site: root, `ip netns`, sshd. */
export function netnsSiteAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `nsite-probe-${process.pid}`;
  const made = spawnSync('ip', ['netns', 'add', probe]).status === 0;
  if (made) spawnSync('ip', ['netns', 'del', probe]);
  return made && spawnSync(SSHD, ['-V']).error === undefined;
}

export class NetnsSite {
  private readonly sshds = new Map<SiteMachine, ChildProcess>();
  private readonly logs = new Map<SiteMachine, string>();

  private constructor(
    readonly prefix: string,
    /** The third number of the WAN network, 198.18.N.0/24. */
    readonly net: number,
    readonly dir: string,
    readonly clientKey: KeyPair,
    readonly hostKeys: Record<SiteMachine, KeyPair>,
  ) {}

  /** The gateway's address on the WAN side: what the upgrader reaches. */
  get gatewayAddress(): string {
    return `198.18.${this.net}.10`;
  }

  static async start(): Promise<NetnsSite> {
    sweepDeadSites();
    const prefix = `nsite${process.pid}`;
    const net = 20 + Math.floor(Math.random() * 200);
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-site-'));
    const clientKey = await generateKeyPair(dir, 'client_key', { comment: 'nightshift-site-client' });
    const hostKeys = {} as Record<SiteMachine, KeyPair>;
    for (const machine of MACHINES) hostKeys[machine] = await generateKeyPair(dir, `${machine}_host_key`, { type: 'ed25519', comment: machine });
    writeFileSync(path.join(dir, 'authorized_keys'), `${clientKey.publicLine}\n`);
    const site = new NetnsSite(prefix, net, dir, clientKey, hostKeys);
    try {
      site.build();
      for (const machine of MACHINES) await site.startSshd(machine);
    } catch (error) {
      site.stop();
      throw error;
    }
    return site;
  }

  /** The namespace of a machine. */
  ns(machine: SiteMachine): string {
    return `${this.prefix}-${machine}`;
  }

  /** Runs a sh script in the machine's namespace, as root; its stdout. */
  run(machine: SiteMachine, script: string): string {
    return execFileSync('ip', ['netns', 'exec', this.ns(machine), 'sh', '-c', script], { encoding: 'utf8' });
  }

  /** The machine's addresses on an interface, e.g. ['198.18.7.10/24']. */
  addresses(machine: SiteMachine, device: 'wan0' | 'lan0'): string[] {
    const out = this.run(machine, `ip -o -4 addr show dev ${device} | awk '{print $4}'`);
    return out.split('\n').filter(Boolean);
  }

  /** The sshd config file of a machine (for a spare way in started with it). */
  configFile(machine: SiteMachine): string {
    return path.join(this.dir, `${machine}_sshd_config`);
  }

  /** Stops a machine's main sshd and every session it started (a spare sshd, daemonized, lives on). */
  stopSshd(machine: SiteMachine): void {
    const child = this.sshds.get(machine);
    this.sshds.delete(machine);
    if (child?.pid === undefined) return;
    for (const pid of descendantsOf(child.pid)) killQuietly(pid);
    killQuietly(child.pid);
  }

  log(machine: SiteMachine): string {
    return this.logs.get(machine) ?? '';
  }

  /** `host_keys` lines for the runbook: `- key: TYPE BASE64` with the window given. */
  hostKeyLine(machine: SiteMachine, window: { from?: string; until?: string } = {}): string {
    const key = this.hostKeys[machine].publicKey;
    const bounds = [window.from ? `from: ${window.from}` : '', window.until ? `until: ${window.until}` : ''].filter(Boolean);
    return `{ key: '${key}'${bounds.length > 0 ? `, ${bounds.join(', ')}` : ''} }`;
  }

  stop(): void {
    for (const machine of [...this.sshds.keys()]) this.stopSshd(machine);
    // Spare servers and sleepers a test left in the namespaces.
    for (const machine of MACHINES) {
      const pids = spawnSync('ip', ['netns', 'pids', this.ns(machine)], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split('\n').filter(Boolean)) killQuietly(Number(pid));
    }
    removeSite(this.prefix);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private build(): void {
    const { prefix, net } = this;
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const wan = `${prefix}w`;
    const lan = `${prefix}l`;
    ip('link', 'add', wan, 'type', 'bridge');
    ip('link', 'add', lan, 'type', 'bridge');
    ip('addr', 'add', `198.18.${net}.1/24`, 'dev', wan);
    ip('link', 'set', wan, 'up');
    ip('link', 'set', lan, 'up');
    const plug = (machine: SiteMachine, bridge: string, side: 'wan0' | 'lan0') => {
      const outer = `${prefix}${MACHINES.indexOf(machine)}${side[0]}`;
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', side, 'netns', this.ns(machine));
      ip('link', 'set', outer, 'master', bridge);
      ip('link', 'set', outer, 'up');
      ip('-n', this.ns(machine), 'link', 'set', side, 'up');
    };
    for (const machine of MACHINES) {
      ip('netns', 'add', this.ns(machine));
      ip('-n', this.ns(machine), 'link', 'set', 'lo', 'up');
    }
    plug('dragon', wan, 'wan0');
    plug('dragon', lan, 'lan0');
    plug('dolphin', wan, 'wan0');
    plug('dolphin', lan, 'lan0');
    plug('elephant', lan, 'lan0');
    const inside = (machine: SiteMachine, ...args: string[]) => ip('-n', this.ns(machine), ...args);
    inside('dragon', 'addr', 'add', `198.18.${net}.10/24`, 'dev', 'wan0');
    // The machine's own address first: the gateway's, added after it, is the one that moves
    // (deleting an interface's first address of a network takes the others with it).
    inside('dragon', 'addr', 'add', '192.168.10.11/24', 'dev', 'lan0');
    inside('dragon', 'addr', 'add', '192.168.10.1/24', 'dev', 'lan0');
    inside('dolphin', 'addr', 'add', '192.168.10.20/24', 'dev', 'lan0');
    inside('elephant', 'addr', 'add', '192.168.10.2/24', 'dev', 'lan0');
    inside('elephant', 'route', 'add', 'default', 'via', '192.168.10.1');
    // Both gateways route between their sides (the one that holds the addresses does), and
    // answer ARP for an address only on the interface it is on: an address put on the wrong
    // side is not reached from the other, as on a gateway set up that way.
    for (const machine of ['dragon', 'dolphin'] as const) {
      this.run(machine, 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore');
    }
  }

  private async startSshd(machine: SiteMachine): Promise<void> {
    const config = this.configFile(machine);
    writeFileSync(
      config,
      [
        'Port 22',
        'ListenAddress 0.0.0.0',
        `HostKey ${this.hostKeys[machine].privateKeyFile}`,
        `AuthorizedKeysFile ${path.join(this.dir, 'authorized_keys')}`,
        ...LOGIN_SETTINGS,
        `SetEnv MACHINE=${machine} SHLVL=2`,
        'LogLevel VERBOSE',
        `Subsystem sftp ${SFTP_SERVER}`,
        '',
      ].join('\n'),
    );
    this.logs.set(machine, '');
    const child = spawnDyingWithTests(['ip', 'netns', 'exec', this.ns(machine), SSHD, '-D', '-e', '-f', config], (text) => {
      this.logs.set(machine, (this.logs.get(machine) ?? '') + text);
    });
    this.sshds.set(machine, child);
    await waitFor(() => /Server listening on 0\.0\.0\.0 port 22/.test(this.log(machine)) || child.exitCode !== null, {
      timeoutMs: 10_000,
      what: `sshd in ${this.ns(machine)} to listen`,
    });
    if (child.exitCode !== null) throw new Error(`sshd in ${this.ns(machine)} ended: ${this.log(machine)}`);
  }
}

function removeSite(prefix: string): void {
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of namespaces.split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(`${prefix}-`)) spawnSync('ip', ['netns', 'del', name]);
  }
  // The bridges, and the outer ends of veths whose namespace is gone already.
  const links = spawnSync('ip', ['-br', 'link'], { encoding: 'utf8' }).stdout ?? '';
  const ours = new RegExp(`^${prefix}[0-9]?[wl](@|\\s)`);
  for (const line of links.split('\n')) {
    if (ours.test(line)) spawnSync('ip', ['link', 'del', line.split(/[@\s]/)[0]!], { stdio: 'ignore' });
  }
}

/** Sites whose test process is gone (killed before it could clean up). */
function sweepDeadSites(): void {
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const owners = new Set<number>();
  for (const line of namespaces.split('\n')) {
    const owner = /^nsite(\d+)-/.exec(line)?.[1];
    if (owner !== undefined) owners.add(Number(owner));
  }
  const links = spawnSync('ip', ['-br', 'link'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of links.split('\n')) {
    // A bridge nsite<PID>w or nsite<PID>l: PID is all but the last letter.
    const bridge = /^nsite(\d+)[wl]\s/.exec(line)?.[1];
    if (bridge !== undefined) owners.add(Number(bridge));
    // The outer end of a veth, nsite<PID><machine index><side>@…, left by a build that failed half-way.
    const end = /^nsite(\d+)\d[wl]@/.exec(line)?.[1];
    if (end !== undefined) owners.add(Number(end));
  }
  for (const owner of owners) {
    if (owner === process.pid || alive(owner)) continue;
    for (const machine of MACHINES) {
      const pids = spawnSync('ip', ['netns', 'pids', `nsite${owner}-${machine}`], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split('\n').filter(Boolean)) killQuietly(Number(pid));
    }
    removeSite(`nsite${owner}`);
  }
}

/** A process that runs (a zombie whose parent did not reap it yet does not count). */
function alive(pid: number): boolean {
  const status = readFileSafe(`/proc/${pid}/status`);
  return status !== undefined && !/^State:\s*Z/m.test(status);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

function descendantsOf(pid: number): number[] {
  const children = (readFileSafe(`/proc/${pid}/task/${pid}/children`) ?? '').split(' ').filter(Boolean).map(Number);
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
}

function readFileSafe(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
