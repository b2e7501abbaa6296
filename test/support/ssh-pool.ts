// A HostPool pointed at a test sshd, with a private HOME (no agent, no keys of the real user)
// and a scripted human who answers the host key and passphrase questions.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Connection } from '../../src/remote/connection.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { openConnection, type ConnectionSettings } from '../../src/remote/open-connection.js';
import type { ConnectOptions, HostKeyInfo, RemoteInteraction, ResolvedHost } from '../../src/remote/types.js';
import type { HostSpec } from '../../src/runbook/types.js';
import type { Sshd } from './sshd.js';

export interface ScriptedInteraction extends RemoteInteraction {
  hostKeyQuestions: HostKeyInfo[];
  passphraseQuestions: string[];
  /** For each passphrase question, whether it said the last one was wrong. */
  passphraseRetries: boolean[];
}

/** Accepts unknown host keys unless told otherwise; hands out the passphrases in order, then null. */
export function scriptedInteraction(script: { acceptHostKey?: boolean; passphrases?: Array<string | null> } = {}): ScriptedInteraction {
  const passphrases = [...(script.passphrases ?? [])];
  const interaction: ScriptedInteraction = {
    hostKeyQuestions: [],
    passphraseQuestions: [],
    passphraseRetries: [],
    async confirmUnknownHostKey(key) {
      interaction.hostKeyQuestions.push(key);
      return script.acceptHostKey ?? true;
    },
    async askPassphrase(keyFile, retry) {
      interaction.passphraseQuestions.push(keyFile);
      interaction.passphraseRetries.push(retry);
      return passphrases.length > 0 ? (passphrases.shift() ?? null) : null;
    },
    async askSudoPassword() {
      return null;
    },
  };
  return interaction;
}

/** A temporary folder to serve as HOME; remove it with removeHome. */
export function makeHome(): string {
  return mkdtempSync(path.join(tmpdir(), 'ns-home-'));
}

export function removeHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
}

export interface TestPoolOptions extends Partial<Omit<ConnectOptions, 'interaction'>> {
  home: string;
  interaction?: RemoteInteraction;
  /** Overrides of the host spec; by default the sshd's address, port, user and client key. */
  spec?: Partial<HostSpec>;
  /** The runbook name of the host (default 'dragon'). */
  name?: string;
}

/**
 * A pool with one host (default name 'dragon') aimed at `sshd`. known_hosts defaults to
 * HOME/.ssh/known_hosts only, so the machine's /etc/ssh/ssh_known_hosts never leaks in.
 */
export function poolFor(sshd: Sshd, options: TestPoolOptions): HostPool {
  const name = options.name ?? 'dragon';
  const spec: HostSpec = {
    name,
    alias: name,
    address: sshd.address,
    port: sshd.port,
    user: sshd.user,
    identityFile: sshd.clientKey.privateKeyFile,
    ...options.spec,
  };
  const { home, interaction, spec: _spec, name: _name, ...connect } = options;
  return new HostPool(
    { [name]: spec },
    {
      sshConfigFile: path.join(home, '.ssh', 'config'),
      knownHostsFiles: [path.join(home, '.ssh', 'known_hosts')],
      env: { HOME: home },
      readyTimeoutMs: 10_000,
      ...connect,
      interaction: interaction ?? scriptedInteraction(),
    },
  );
}

/** Runs a command and collects its output as text. */
export async function run(
  pool: HostPool,
  command: string,
  host = 'dragon',
): Promise<{ stdout: string; stderr: string; exitCode: number | null; signal?: string }> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const result = await pool.exec(host, command, {
    onStdout: (chunk) => stdout.push(chunk),
    onStderr: (chunk) => stderr.push(chunk),
  });
  return {
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
    ...result,
  };
}

/**
 * One connection to `sshd` (or to a relay in front of it on `port`), without a pool: the
 * host key is pinned in HOME/.ssh/known_hosts for both ports, and nothing is ever asked.
 */
export function openTestConnection(sshd: Sshd, home: string, port = sshd.port): Promise<Connection> {
  const knownHosts = path.join(home, '.ssh', 'known_hosts');
  mkdirSync(path.dirname(knownHosts), { recursive: true });
  const hostKey = sshd.hostKey().publicKey;
  writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${hostKey}\n[127.0.0.1]:${port} ${hostKey}\n`);
  return connectTo({ name: 'dragon', address: sshd.address, port, user: sshd.user, identityFiles: [sshd.clientKey.privateKeyFile] }, home);
}

/** Logs in to `host` with HOME `home`, without a pool; known_hosts is HOME/.ssh/known_hosts unless the host names its own files. */
export function connectTo(host: ResolvedHost, home: string, settings: Partial<ConnectionSettings> = {}): Promise<Connection> {
  const knownHosts = path.join(home, '.ssh', 'known_hosts');
  return openConnection({
    host,
    knownHostsFiles: [knownHosts],
    defaultKnownHostsFile: knownHosts,
    interaction: scriptedInteraction({ acceptHostKey: false }),
    agentSocket: undefined,
    home,
    keyCache: new Map(),
    keepaliveIntervalMs: 15_000,
    keepaliveCountMax: 2,
    readyTimeoutMs: 10_000,
    ...settings,
  });
}
