// The embedded demo lab: the seed story's dragon, dolphin and elephant as in-process SSH
// servers on 127.0.0.1, each running commands in its own sandbox folder.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParsedKey } from 'ssh2';
import { DemoLabError } from './demo-lab-error.js';
import { buildRestoreTarballs } from './restore-tarballs.js';
import { generateLabKeyPair, parsePublicKey } from './keys.js';
import { checkDemoTools } from './preflight.js';
import { seedSandboxes, type DemoScenario, type SeededSandboxes } from './sandboxes.js';
import { HOST_NAMES, type HostName } from './site-plan.js';
import { writeKnownHosts, writeSshConfig } from './ssh-files.js';
import { LabSshHost } from './ssh-host.js';

export { DemoLabError } from './demo-lab-error.js';
export type { DemoScenario } from './sandboxes.js';

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
  hosts: Record<HostName, DemoLabHost>;
  /** Destroys the TCP connections to one host, or to all of them; the commands on them are terminated. */
  dropConnections(host?: string): void;
  /** Stops the servers and kills running commands; the folder stays. */
  close(): Promise<void>;
}

const SCENARIOS: readonly DemoScenario[] = ['success', 'wrong-route', 'link-drop'];
/** Enough to come in the middle of the restore's flood of tar lines. */
const LINK_DROP_AFTER_BYTES = 60_000;
const LAB_USER = 'nightshift';
const MARKER = '.nightshift-demo-lab';
const RUNBOOK = path.join('runbooks', 'demo-gateway-swap.yaml');
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

export async function startDemoLab(options: DemoLabOptions = {}): Promise<DemoLab> {
  const scenario = options.scenario ?? 'success';
  if (!SCENARIOS.includes(scenario)) {
    throw new DemoLabError(`There is no demo scenario '${String(scenario)}'; choose ${SCENARIOS.join(', ')}.`);
  }
  checkDemoTools();
  const runbookFile = findShippedRunbook();
  if (options.reuse && options.dir === undefined) throw new DemoLabError('Reusing a demo lab needs its folder.');
  const dir = await prepareLabFolder(options.dir, options.reuse ? ['ssh'] : LAB_PARTS);
  const sshDir = path.join(dir, 'ssh');
  await mkdir(sshDir, { mode: 0o700 });
  const identityFile = path.join(sshDir, 'id_ed25519');
  const clientKey = await writeClientKey(identityFile);

  const { roots, tarballs } = options.reuse
    ? existingSandboxes(path.join(dir, 'hosts'), path.join(dir, 'build'))
    : await seedSandboxes(path.join(dir, 'hosts'), path.join(dir, 'build'), scenario);
  const servers = await startHosts(roots, tarballs, clientKey);
  const endpoints = HOST_NAMES.map((name) => ({ name, port: servers[name].host.port, hostPublicKey: servers[name].publicKey }));
  const sshConfigFile = path.join(sshDir, 'config');
  const knownHostsFile = path.join(sshDir, 'known_hosts');
  await writeSshConfig(sshConfigFile, endpoints, LAB_USER, identityFile);
  await writeKnownHosts(knownHostsFile, endpoints);

  const all = HOST_NAMES.map((name) => servers[name].host);
  if (scenario === 'link-drop' && !options.reuse) servers.dolphin.host.dropOnceAfter(LINK_DROP_AFTER_BYTES);
  let closing: Promise<void> | undefined;
  return {
    dir,
    sshConfigFile,
    knownHostsFile,
    identityFile,
    runbookFile,
    hosts: {
      dragon: { port: servers.dragon.host.port, root: roots.dragon },
      dolphin: { port: servers.dolphin.host.port, root: roots.dolphin },
      elephant: { port: servers.elephant.host.port, root: roots.elephant },
    },
    dropConnections(host?: string) {
      if (host === undefined) {
        for (const server of all) server.dropConnections();
        return;
      }
      if (!isHostName(host)) throw new DemoLabError(`The demo lab has no host '${host}'; it has ${HOST_NAMES.join(', ')}.`);
      servers[host].host.dropConnections();
    },
    close() {
      // The tarballs too: nothing may write into the folder after close().
      closing ??= Promise.all([...all.map((server) => server.close()), tarballs.catch(() => {})]).then(() => undefined);
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

/** One SSH server per host, each with a fresh host key; dolphin's commands wait for its tarballs. */
async function startHosts(
  roots: Record<HostName, string>,
  tarballs: Promise<void>,
  clientKey: ParsedKey,
): Promise<Record<HostName, { host: LabSshHost; publicKey: string }>> {
  const ready: Record<HostName, Promise<void>> = { dragon: Promise.resolve(), dolphin: tarballs, elephant: Promise.resolve() };
  const started = await Promise.allSettled(
    HOST_NAMES.map(async (name) => {
      const hostKey = generateLabKeyPair(`${name} demo host key`);
      const host = await LabSshHost.start({
        sandbox: { hostName: name, root: roots[name] },
        ready: ready[name],
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
    await Promise.all([...running.map((host) => host.close()), tarballs.catch(() => {})]);
    throw new DemoLabError(`The demo lab could not listen on 127.0.0.1: ${(failure.reason as Error).message}.`);
  }
  return Object.fromEntries(started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))) as Record<
    HostName,
    { host: LabSshHost; publicKey: string }
  >;
}

function isHostName(name: string): name is HostName {
  return (HOST_NAMES as readonly string[]).includes(name);
}

/** A fresh temporary folder, or the given one if it is new, empty or an earlier demo lab. */
/** The hosts' folders an earlier lab left in hostsDir; tarballs it was stopped packing are packed again. */
function existingSandboxes(hostsDir: string, workDir: string): SeededSandboxes {
  const roots = Object.fromEntries(HOST_NAMES.map((name) => [name, path.join(hostsDir, name)])) as Record<HostName, string>;
  const missing = HOST_NAMES.filter((name) => !existsSync(roots[name]));
  if (missing.length > 0) {
    throw new DemoLabError(`The demo lab in ${path.dirname(hostsDir)} has no folder for ${missing.join(', ')}: there is no earlier lab to go on with.`);
  }
  // SHA256SUMS is written once every tarball is complete.
  const restoreDir = path.join(roots.dolphin, 'restore');
  const tarballs = existsSync(path.join(restoreDir, 'SHA256SUMS'))
    ? Promise.resolve()
    : rm(workDir, { recursive: true, force: true }).then(() => buildRestoreTarballs(restoreDir, workDir));
  tarballs.catch(() => {}); // awaited later, by the commands and by close()
  return { roots, tarballs };
}

/** `parts`: the folders of an earlier lab that this start replaces. */
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

/** The shipped runbook, found from here both in the source tree and in the bundle (dist/). */
function findShippedRunbook(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, RUNBOOK);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new DemoLabError(`The demo runbook ${RUNBOOK} is missing from this installation of nightshift.`);
}
