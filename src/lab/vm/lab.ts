// A rehearsal lab for one runbook: its machines booted from the cached guest image (each on
// its own overlay, so the image stays clean), a private network between them on a bridge
// with no uplink, an observer namespace on it, and the SSH files a run needs to reach them.
// Everything a lab has lives in its folder; `down` removes it all.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { isAlive } from '../../store/lock.js';
import { writeKnownHosts, writeSshConfig, type LabEndpoint } from '../ssh-files.js';
import { ensureBaseImage } from './base-image.js';
import { SEED_SERIAL } from './guest-files.js';
import { LabError } from './lab-error.js';
import { readLabFile, type LabFile, type LabMachineSpec } from './lab-file.js';
import { namespaceOnBridge, removeNamespaceOnBridge } from './namespace.js';
import { labStateDir } from './paths.js';
import { monitorCommand, sshAnswers, startMachine, type MachineLaunch } from './qemu.js';
import { script, tool } from './shell.js';
import { tetherHolds, watchTether, type Tether } from './tether.js';
import { createUpstream, plannedUpstream, removeUpstream, wanNamingFiles, writeUpstreamSshFiles, type UpstreamState } from './upstream.js';

export interface LabMachineState {
  name: string;
  dir: string;
  sshPort: number;
  address?: string;
  hostPublicKey: string;
}

export interface LabState {
  name: string;
  runbook: string;
  dir: string;
  bridge?: string;
  /** `veth`: the namespace's card on this side (absent in a lab brought up before it was kept). */
  observer?: { name: string; namespace: string; veth?: string; address: string };
  /** The provider's side, where a run on the lab comes from (lab file `upstream:`). */
  upstream?: UpstreamState;
  machines: LabMachineState[];
  /** The machines by name through their forwarded management ports: the view from the side. */
  sshConfig: string;
  knownHosts: string;
  /** With an upstream: the site as a run reaches it from there. */
  runSshConfig?: string;
  runKnownHosts?: string;
  vars: Record<string, string>;
  startedAt: string;
  /** The process the lab is tied to: once it has ended, the lab takes itself down. */
  tether?: Tether;
}

export function labNameOf(runbookPath: string): string {
  return path.basename(runbookPath).replace(/\.ya?ml$/, '');
}

const STATE_FILE = 'lab.json';

export async function readLabState(runbookPath: string): Promise<LabState | undefined> {
  const file = path.join(labStateDir(labNameOf(runbookPath)), STATE_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as LabState;
}

export interface UpOptions {
  say: (line: string) => void;
  /** Bound on every machine answering SSH logins. */
  bootTimeoutMs?: number;
  /** Ties the lab to a process: `downCommand` takes it down once that process has ended. */
  tether?: { to: Tether; downCommand: string[] };
}

export async function labUp(runbookPath: string, options: UpOptions): Promise<LabState> {
  const { say } = options;
  const { lab } = await readLabFile(runbookPath);
  const existing = await readLabState(runbookPath);
  if (existing) {
    if (!existing.tether || tetherHolds(existing.tether)) {
      throw new LabError(`The lab for ${path.basename(runbookPath)} is up already (nightshift lab status / down).`);
    }
    say(`lab: the lab tied to process ${existing.tether.pid} is still up though that process has ended: taking it down first`);
    await labDown(runbookPath, say);
  }
  const image = await ensureBaseImage(say);
  const name = labNameOf(runbookPath);
  const dir = labStateDir(name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const id = createHash('sha256').update(dir).digest('hex').slice(0, 6);
  const bridge = Object.values(lab.machines).some((machine) => machine.address) ? `nsl-${id}` : undefined;

  const state: LabState = {
    name,
    runbook: path.resolve(runbookPath),
    dir,
    machines: [],
    sshConfig: path.join(dir, 'ssh_config'),
    knownHosts: path.join(dir, 'known_hosts'),
    vars: {},
    startedAt: new Date().toISOString(),
    ...(bridge ? { bridge } : {}),
    ...(options.tether ? { tether: options.tether.to } : {}),
  };
  // Saved before anything starts, so that `down` can clear a lab that failed half way.
  const save = () => writeFile(path.join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  await save();
  if (options.tether) await watchTether(dir, options.tether.to, options.tether.downCommand);
  try {
    if (bridge) await createNetwork(state, bridge, lab, id, save);
    if (lab.upstream) {
      const planned = plannedUpstream(id, lab.upstream);
      state.upstream = planned;
      await save();
      state.upstream = await createUpstream(dir, planned, lab.upstream);
      await save();
    }
    let index = 0;
    for (const [machineName, spec] of Object.entries(lab.machines)) {
      index += 1;
      const machine = await prepareMachine(machineName, spec, lab, dir, image.disk, index, { bridge, upstreamBridge: state.upstream?.bridge });
      state.machines.push(machine.state);
      await save();
      await startMachine(machine.launch);
      say(`lab: ${machineName} powered on (SSH on 127.0.0.1:${machine.state.sshPort}, console ${path.join(machine.state.dir, 'serial.log')})`);
    }
    await writeClientFiles(state, lab, image.key);
    state.vars = labVars(lab, dir, image.tarballs);
    await save();
    await waitForLogins(state, say, options.bootTimeoutMs ?? 300_000);
    return state;
  } catch (error) {
    say(`lab: ${(error as Error).message}`);
    const kept = await keepConsoles(state);
    say(`lab: taking down what was started; the consoles are kept in ${kept}`);
    await labDown(runbookPath, () => {}).catch(() => undefined);
    throw error;
  }
}

/** Copies each machine's console and QEMU's complaints beside the lab's folder, which `down` removes. */
async function keepConsoles(state: LabState): Promise<string> {
  const kept = `${state.dir}.failed`;
  await rm(kept, { recursive: true, force: true });
  await mkdir(kept, { recursive: true });
  for (const machine of state.machines) {
    for (const file of ['serial.log', 'qemu.err']) {
      await copyFile(path.join(machine.dir, file), path.join(kept, `${machine.name}.${file}`)).catch(() => undefined);
    }
  }
  return kept;
}

function labVars(lab: LabFile, dir: string, tarballs: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(lab.vars ?? {})) {
    vars[key] = value.replaceAll('{lab}', dir).replaceAll('{tarballs}', tarballs);
  }
  return vars;
}

/** `save`: the lab's state is saved with the observer's names before they are made, for `down`. */
async function createNetwork(state: LabState, bridge: string, lab: LabFile, id: string, save: () => Promise<void>): Promise<void> {
  await tool('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await tool('ip', ['link', 'set', bridge, 'up']);
  if (!lab.observer) return;
  const namespace = `nsl-${id}-${lab.observer.name}`;
  const veth = `nsl-${id}-o`;
  state.observer = { name: lab.observer.name, namespace, veth, address: lab.observer.address };
  await save();
  await namespaceOnBridge(namespace, veth, bridge, lab.observer.address);
  for (const route of lab.observer.routes ?? []) await tool('ip', ['-n', namespace, 'route', 'add', ...route.split(/\s+/)]);
  // The runbook's checks "from outside" run through this: the observer's view of the network.
  const outside = path.join(state.dir, lab.observer.name);
  await writeFile(outside, `#!/bin/sh\n# Runs a command as ${lab.observer.name}, on the lab's private network.\nexec ip netns exec ${namespace} "$@"\n`);
  await chmod(outside, 0o755);
}

async function prepareMachine(
  name: string,
  spec: LabMachineSpec,
  lab: LabFile,
  labDir: string,
  baseDisk: string,
  index: number,
  networks: { bridge: string | undefined; upstreamBridge: string | undefined },
): Promise<{ state: LabMachineState; launch: MachineLaunch }> {
  const { bridge } = networks;
  const macSuffix = `${index.toString(16).padStart(2, '0')}:01`;
  const dir = path.join(labDir, name);
  await mkdir(dir, { recursive: true });
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  await tool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${name}`, '-f', hostKey]);
  const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim();

  const seed = path.join(dir, 'seed');
  await writeSeed(seed, name, spec, lab, hostKey, macSuffix);
  await tool('mkfs.ext4', ['-q', '-F', '-d', seed, path.join(dir, 'seed.img'), '8M']);
  await tool('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', baseDisk, path.join(dir, 'system.qcow2')]);
  const disks: MachineLaunch['disks'] = [{ file: path.join(dir, 'system.qcow2'), serial: 'nslab-system', format: 'qcow2' }];
  if (spec.new_disk) {
    await tool('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, 'new.qcow2'), spec.new_disk.size]);
    disks.push({ file: path.join(dir, 'new.qcow2'), serial: spec.new_disk.serial, format: 'qcow2' });
  }
  disks.push({ file: path.join(dir, 'seed.img'), serial: SEED_SERIAL, format: 'raw', readonly: true });
  const sshPort = await freePort();
  return {
    state: { name, dir, sshPort, hostPublicKey, ...(spec.address ? { address: spec.address } : {}) },
    launch: {
      name,
      dir,
      sshPort,
      disks,
      macSuffix,
      ...(bridge && spec.address ? { bridge } : {}),
      ...(networks.upstreamBridge && spec.wan ? { upstreamBridge: networks.upstreamBridge } : {}),
    },
  };
}

async function writeSeed(seed: string, name: string, spec: LabMachineSpec, lab: LabFile, hostKey: string, macSuffix: string): Promise<void> {
  const files: Record<string, string> = {
    'root/etc/hostname': `${name}\n`,
    // The machine's name on its private address, where it has one: its DNS answers with it.
    'root/etc/hosts': [
      '127.0.0.1 localhost',
      `${spec.address?.split('/')[0] ?? '127.0.1.1'} ${lab.domain ? `${name}.${lab.domain} ` : ''}${name}`,
      ...(spec.hosts ?? []),
      '',
    ].join('\n'),
  };
  if (spec.address) {
    files['root/etc/network/interfaces.d/private'] = `# The lab's private network\nauto eth1\niface eth1 inet static\n  address ${spec.address}\n`;
  }
  const wan = spec.wan ? wanNamingFiles(macSuffix) : undefined;
  if (wan) files['root/etc/udev/rules.d/70-persistent-net.rules'] = wan.rules;
  const setup = [
    '#!/bin/sh',
    'set -e',
    "# One host key, the lab's: the other types the image came with would be a second identity.",
    'rm -f /etc/ssh/ssh_host_rsa_key* /etc/ssh/ssh_host_ecdsa_key*',
    'chmod 600 /etc/ssh/ssh_host_ed25519_key',
    wan?.rename ?? '',
    spec.setup ?? '',
    '',
  ].join('\n');
  files['run.sh'] = setup;
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(seed, file)), { recursive: true });
    await writeFile(path.join(seed, file), text);
  }
  await chmod(path.join(seed, 'run.sh'), 0o755);
  await mkdir(path.join(seed, 'root/etc/ssh'), { recursive: true });
  await writeFile(path.join(seed, 'root/etc/ssh/ssh_host_ed25519_key'), await readFile(hostKey), { mode: 0o600 });
  await writeFile(path.join(seed, 'root/etc/ssh/ssh_host_ed25519_key.pub'), await readFile(`${hostKey}.pub`));
}

async function writeClientFiles(state: LabState, lab: LabFile, identityFile: string): Promise<void> {
  const endpoints: LabEndpoint[] = state.machines.map((machine) => ({ name: machine.name, port: machine.sshPort, hostPublicKey: machine.hostPublicKey }));
  await writeSshConfig(
    state.sshConfig,
    endpoints,
    'root',
    identityFile,
    `nightshift rehearsal lab for ${path.basename(state.runbook)}: these hosts are QEMU guests.`,
  );
  // A machine that takes another's identity presents that one's key: the lab accepts both.
  const known: LabEndpoint[] = [...endpoints];
  for (const machine of state.machines) {
    for (const other of lab.machines[machine.name]?.also_known_as ?? []) {
      const key = state.machines.find((candidate) => candidate.name === other)?.hostPublicKey;
      if (key) known.push({ name: machine.name, port: machine.sshPort, hostPublicKey: key });
    }
  }
  await writeKnownHosts(state.knownHosts, known);
  let runFiles = { sshConfig: state.sshConfig, knownHosts: state.knownHosts };
  if (lab.upstream && state.upstream) {
    runFiles = { sshConfig: path.join(state.dir, 'run_ssh_config'), knownHosts: path.join(state.dir, 'run_known_hosts') };
    const keys = Object.fromEntries(state.machines.map((machine) => [machine.name, machine.hostPublicKey]));
    await writeUpstreamSshFiles(runFiles, lab.upstream, state.upstream, keys, identityFile);
    state.runSshConfig = runFiles.sshConfig;
    state.runKnownHosts = runFiles.knownHosts;
  }
  // For a runbook's local steps that reach its hosts themselves (`{lab}/ssh dragon …`): plain
  // OpenSSH with the run's aliases and pinned keys, as `ssh dragon` is on a real upgrader's machine.
  const quote = (file: string) => `'${file.replaceAll("'", "'\\''")}'`;
  const wrapper = path.join(state.dir, 'ssh');
  await writeFile(
    wrapper,
    `#!/bin/sh\n# OpenSSH to this lab's hosts by name, as a run reaches them.\nexec ssh -F ${quote(runFiles.sshConfig)} -o UserKnownHostsFile=${quote(runFiles.knownHosts)} "$@"\n`,
  );
  await chmod(wrapper, 0o755);
}

/** Waits until each machine takes a real login with the lab's key (a banner alone comes early). */
async function waitForLogins(state: LabState, say: (line: string) => void, timeoutMs: number): Promise<void> {
  const started = Date.now();
  const pending = new Set(state.machines.map((machine) => machine.name));
  let lastReport = 0;
  while (pending.size > 0) {
    for (const name of [...pending]) {
      const dir = state.machines.find((machine) => machine.name === name)!.dir;
      if (existsSync(path.join(dir, 'failed'))) {
        const why = (await readFile(path.join(dir, 'qemu.err'), 'utf8').catch(() => '')).trim().split('\n').at(-1);
        throw new LabError(`QEMU would not start ${name}: ${why || 'see qemu.err'}.`);
      }
      try {
        await tool('ssh', [
          '-F',
          state.sshConfig,
          '-o',
          `UserKnownHostsFile=${state.knownHosts}`,
          '-o',
          'BatchMode=yes',
          '-o',
          'ConnectTimeout=10',
          name,
          'true',
        ]);
        pending.delete(name);
        say(`lab: ${name} is up (${Math.round((Date.now() - started) / 1000)} s)`);
      } catch {
        // not yet
      }
    }
    if (pending.size === 0) break;
    const elapsed = Date.now() - started;
    if (elapsed > timeoutMs) {
      throw new LabError(`${[...pending].join(', ')} did not take an SSH login within ${Math.round(timeoutMs / 1000)} s; see serial.log in ${state.dir}.`);
    }
    if (elapsed - lastReport >= 15_000) {
      lastReport = elapsed;
      say(`lab: booting ${[...pending].join(', ')} (${Math.round(elapsed / 1000)} s; about a minute under emulation)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

export async function labDown(runbookPath: string, say: (line: string) => void): Promise<boolean> {
  const state = await readLabState(runbookPath);
  const dir = labStateDir(labNameOf(runbookPath));
  if (!state) {
    await rm(dir, { recursive: true, force: true });
    return false;
  }
  for (const machine of state.machines) {
    await writeFile(path.join(machine.dir, 'stop'), '');
    await monitorCommand(path.join(machine.dir, 'monitor.sock'), 'quit').catch(() => undefined);
  }
  for (const machine of state.machines) {
    await waitForExit(machine.dir, 'supervisor.pid', 10_000);
    say(`lab: ${machine.name} powered off`);
  }
  if (state.observer) await removeNamespaceOnBridge(state.observer.namespace, state.observer.veth);
  if (state.upstream) await removeUpstream(state.upstream);
  if (state.bridge) await tool('ip', ['link', 'delete', state.bridge]).catch(() => undefined);
  await rm(state.dir, { recursive: true, force: true });
  return true;
}

async function waitForExit(dir: string, pidFile: string, timeoutMs: number): Promise<void> {
  const file = path.join(dir, pidFile);
  const pid = Number(await readFile(file, 'utf8').catch(() => '0'));
  const deadline = Date.now() + timeoutMs;
  while (pid > 0 && isAlive(pid)) {
    if (Date.now() > deadline) {
      await script(`pkill -KILL -f "$DIR/" || true; kill -KILL "$PID" 2>/dev/null || true`, { env: { DIR: dir, PID: String(pid) } });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface MachineStatus {
  name: string;
  power: 'on' | 'off';
  ssh: boolean;
  sshPort: number;
  lastConsoleLine: string;
}

export async function labStatus(state: LabState): Promise<MachineStatus[]> {
  return Promise.all(
    state.machines.map(async (machine) => {
      const qemuPid = Number(await readFile(path.join(machine.dir, 'qemu.pid'), 'utf8').catch(() => '0'));
      const log = await readFile(path.join(machine.dir, 'serial.log'), 'utf8').catch(() => '');
      const lines = log.split(/\r?\n/).filter((line) => line.trim() !== '');
      return {
        name: machine.name,
        power: qemuPid > 0 && isAlive(qemuPid) ? ('on' as const) : ('off' as const),
        ssh: await sshAnswers(machine.sshPort),
        sshPort: machine.sshPort,
        lastConsoleLine: (lines.at(-1) ?? '').slice(0, 120),
      };
    }),
  );
}

/** The power button, as the person on site would press it: QEMU is reset and starts afresh. */
export async function powerCycle(state: LabState, machineName: string): Promise<void> {
  const machine = state.machines.find((candidate) => candidate.name === machineName);
  if (!machine) throw new LabError(`The lab has no machine "${machineName}" (it has ${state.machines.map((m) => m.name).join(', ')}).`);
  await monitorCommand(path.join(machine.dir, 'monitor.sock'), 'system_reset');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
