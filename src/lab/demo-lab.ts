// The embedded demo lab: the seed story's dragon, dolphin and elephant (or, in the fleet
// scenario, a dozen guests) as in-process SSH servers on 127.0.0.1, each running commands
// in its own sandbox folder.
import { embeddedRunbooksRoot, standalone } from '../install/embedded.js';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParsedKey } from 'ssh2';
import { DemoLabError } from './demo-lab-error.js';
import { buildRestoreTarballs } from './restore-tarballs.js';
import { generateLabKeyPair, parsePublicKey } from './keys.js';
import { DEMO_SCENARIOS, isDemoScenario, type DemoScenario } from './demo-scenarios.js';
import { FLEET_HOST_NAMES, seedFleetSandboxes } from './fleet-hosts.js';
import { checkDemoTools } from './preflight.js';
import { seedSandboxes } from './sandboxes.js';
import { HOST_NAMES } from './site-plan.js';
import { writeKnownHosts, writeSshConfig } from './ssh-files.js';
import { LabSshHost } from './ssh-host.js';

export { DemoLabError } from './demo-lab-error.js';
export type { DemoScenario } from './demo-scenarios.js';

export interface DemoLabHost {
  port: number;
  /** The host's sandbox folder: where its commands start. */
  root: string;
}

export interface DemoLab {
  dir: string;
  sshConfigFile: string;
  knownHostsFile: string;
  identityFile: string;
  runbookFile: string;
  hosts: Readonly<Record<string, DemoLabHost>>;
  /** One host of the lab; throws DemoLabError for a name it does not have. */
  host(name: string): DemoLabHost;
  /** Destroys the TCP connections to one host, or to all of them; the commands on them are terminated. */
  dropConnections(host?: string): void;
  /** Stops the servers and kills running commands; the folder stays. */
  close(): Promise<void>;
}

/** Enough to come in the middle of the restore's flood of tar lines. */
const LINK_DROP_AFTER_BYTES = 60_000;
const LAB_USER = 'nightshift';
const MARKER = '.nightshift-demo-lab';
const GATEWAY_RUNBOOK = path.join('runbooks', 'demo-gateway-swap.yaml');
const FLEET_RUNBOOK = path.join('runbooks', 'demo-fleet.yaml');
/** The folders of a lab folder that a new lab start replaces. */
const LAB_PARTS = ['hosts', 'ssh', 'build'];

export interface DemoLabOptions {
  dir?: string;
  scenario?: DemoScenario;
  /**
   * Start again on the machines of an earlier lab in `dir` as they were left (to resume a
   * session): new host keys and ports, but the hosts' folders kept.
   */
  reuse?: boolean;
}

/** The machines of a lab: each host's folder, what its commands wait for, and what close() waits for. */
interface LabMachines {
  roots: Record<string, string>;
  ready: Record<string, Promise<void>>;
  /** Work still going on in the lab's folder (the tarballs being packed). */
  pending: Promise<void>;
}

/** What a scenario's lab is made of. */
interface LabPlan {
  hostNames: readonly string[];
  runbook: string;
  seed(hostsDir: string, workDir: string): Promise<LabMachines>;
  /** The machines of an earlier lab in the folder, as they were left. */
  existing(hostsDir: string, workDir: string): LabMachines;
}

function labPlan(scenario: DemoScenario): LabPlan {
  if (scenario === 'fleet') {
    return {
      hostNames: FLEET_HOST_NAMES,
      runbook: FLEET_RUNBOOK,
      seed: async (hostsDir) => readyNow(await seedFleetSandboxes(hostsDir)),
      existing: (hostsDir) => readyNow(existingRoots(hostsDir, FLEET_HOST_NAMES)),
    };
  }
  return {
    hostNames: HOST_NAMES,
    runbook: GATEWAY_RUNBOOK,
    seed: async (hostsDir, workDir) => {
      const { roots, tarballs } = await seedSandboxes(hostsDir, workDir, scenario);
      return { roots, ready: gatewayReady(tarballs), pending: tarballs };
    },
    existing: (hostsDir, workDir) => {
      const roots = existingRoots(hostsDir, HOST_NAMES);
      const tarballs = repackedTarballs(roots['dolphin']!, workDir);
      return { roots, ready: gatewayReady(tarballs), pending: tarballs };
    },
  };
}

/** dolphin's commands wait for its restore tarballs; the other hosts' start at once. */
function gatewayReady(tarballs: Promise<void>): Record<string, Promise<void>> {
  return { dragon: Promise.resolve(), dolphin: tarballs, elephant: Promise.resolve() };
}

function readyNow(roots: Record<string, string>): LabMachines {
  return { roots, ready: Object.fromEntries(Object.keys(roots).map((name) => [name, Promise.resolve()])), pending: Promise.resolve() };
}

export async function startDemoLab(options: DemoLabOptions = {}): Promise<DemoLab> {
  const scenario = options.scenario ?? 'success';
  if (!isDemoScenario(scenario)) {
    throw new DemoLabError(`There is no demo scenario '${String(scenario)}'; choose ${DEMO_SCENARIOS.join(', ')}.`);
  }
  checkDemoTools();
  const plan = labPlan(scenario);
  const runbookFile = findShippedRunbook(plan.runbook);
  if (options.reuse && options.dir === undefined) throw new DemoLabError('Reusing a demo lab needs its folder.');
  const dir = await prepareLabFolder(options.dir, options.reuse ? ['ssh'] : LAB_PARTS);
  const sshDir = path.join(dir, 'ssh');
  await mkdir(sshDir, { mode: 0o700 });
  const identityFile = path.join(sshDir, 'id_ed25519');
  const clientKey = await writeClientKey(identityFile);

  const machines = options.reuse
    ? plan.existing(path.join(dir, 'hosts'), path.join(dir, 'build'))
    : await plan.seed(path.join(dir, 'hosts'), path.join(dir, 'build'));
  const servers = await startHosts(plan.hostNames, machines, clientKey);
  const endpoints = plan.hostNames.map((name) => ({ name, port: servers.get(name)!.host.port, hostPublicKey: servers.get(name)!.publicKey }));
  const sshConfigFile = path.join(sshDir, 'config');
  const knownHostsFile = path.join(sshDir, 'known_hosts');
  await writeSshConfig(sshConfigFile, endpoints, LAB_USER, identityFile);
  await writeKnownHosts(knownHostsFile, endpoints);

  const all = [...servers.values()].map((server) => server.host);
  if (scenario === 'link-drop' && !options.reuse) servers.get('dolphin')!.host.dropOnceAfter(LINK_DROP_AFTER_BYTES);
  const hosts = Object.fromEntries(plan.hostNames.map((name) => [name, { port: servers.get(name)!.host.port, root: machines.roots[name]! }]));
  const serverOf = (name: string) => {
    const server = servers.get(name);
    if (!server) throw new DemoLabError(`The demo lab has no host '${name}'; it has ${plan.hostNames.join(', ')}.`);
    return server.host;
  };
  let closing: Promise<void> | undefined;
  return {
    dir,
    sshConfigFile,
    knownHostsFile,
    identityFile,
    runbookFile,
    hosts,
    host(name) {
      serverOf(name);
      return hosts[name]!;
    },
    dropConnections(host?: string) {
      if (host === undefined) {
        for (const server of all) server.dropConnections();
        return;
      }
      serverOf(host).dropConnections();
    },
    close() {
      // The tarballs too: nothing may write into the folder after close().
      closing ??= Promise.all([...all.map((server) => server.close()), machines.pending.catch(() => {})]).then(() => undefined);
      return closing;
    },
  };
}

async function writeClientKey(identityFile: string): Promise<ParsedKey> {
  const pair = generateLabKeyPair('nightshift demo lab upgrader');
  await writeFile(identityFile, pair.privateKey, { mode: 0o600 });
  await writeFile(`${identityFile}.pub`, `${pair.publicKey}\n`, { mode: 0o644 });
  return parsePublicKey(pair.publicKey);
}

/** One SSH server per host, each with a fresh host key; a host's commands wait for what its machine is not ready without. */
async function startHosts(
  names: readonly string[],
  machines: LabMachines,
  clientKey: ParsedKey,
): Promise<Map<string, { host: LabSshHost; publicKey: string }>> {
  const started = await Promise.allSettled(
    names.map(async (name) => {
      const hostKey = generateLabKeyPair(`${name} demo host key`);
      const host = await LabSshHost.start({
        sandbox: { hostName: name, root: machines.roots[name]! },
        ready: machines.ready[name] ?? Promise.resolve(),
        hostPrivateKey: hostKey.privateKey,
        clientKey,
        user: LAB_USER,
      });
      return [name, { host, publicKey: hostKey.publicKey }] as const;
    }),
  );
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    const running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value[1].host] : []));
    await Promise.all([...running.map((host) => host.close()), machines.pending.catch(() => {})]);
    throw new DemoLabError(`The demo lab could not listen on 127.0.0.1: ${(failure.reason as Error).message}.`);
  }
  return new Map(started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])));
}

/** The hosts' folders an earlier lab left in hostsDir. */
function existingRoots(hostsDir: string, names: readonly string[]): Record<string, string> {
  const roots = Object.fromEntries(names.map((name) => [name, path.join(hostsDir, name)]));
  const missing = names.filter((name) => !existsSync(roots[name]!));
  if (missing.length > 0) {
    throw new DemoLabError(`The demo lab in ${path.dirname(hostsDir)} has no folder for ${missing.join(', ')}: there is no earlier lab to go on with.`);
  }
  return roots;
}

/** dolphin's restore tarballs: packed again when an earlier lab was stopped packing them. */
function repackedTarballs(dolphinRoot: string, workDir: string): Promise<void> {
  // SHA256SUMS is written once every tarball is complete.
  const restoreDir = path.join(dolphinRoot, 'restore');
  const tarballs = existsSync(path.join(restoreDir, 'SHA256SUMS'))
    ? Promise.resolve()
    : rm(workDir, { recursive: true, force: true }).then(() => buildRestoreTarballs(restoreDir, workDir));
  tarballs.catch(() => {}); // awaited later, by the commands and by close()
  return tarballs;
}

/** A fresh temporary folder, or the given one if it is new, empty or an earlier demo lab. `parts`: the folders of an earlier lab that this start replaces. */
async function prepareLabFolder(given: string | undefined, parts: readonly string[]): Promise<string> {
  let dir: string;
  if (given === undefined) {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-demo-'));
  } else {
    dir = path.resolve(given);
    await mkdir(dir, { recursive: true });
    const entries = await readdir(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new DemoLabError(`The folder ${dir} is not empty and holds no earlier demo lab; give a new or empty folder.`);
    }
    await Promise.all(parts.map((part) => rm(path.join(dir, part), { recursive: true, force: true })));
  }
  await chmod(dir, 0o700);
  await writeFile(path.join(dir, MARKER), 'A nightshift demo lab: hosts/<name>/ is each machine, ssh/ holds the keys and the ssh_config to reach them.\n');
  return dir;
}

/** A shipped runbook, found from here in the source tree and in the bundle (dist/), or carried by the executable. */
function findShippedRunbook(runbook: string): string {
  if (standalone) return path.join(embeddedRunbooksRoot(), runbook);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, runbook);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new DemoLabError(`The demo runbook ${runbook} is missing from this installation of nightshift.`);
}
