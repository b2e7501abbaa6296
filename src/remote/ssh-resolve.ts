// A host's settings as OpenSSH itself works them out: `ssh -G` prints the final value of every
// option for a host (Match exec, Include in a Host block, /etc/ssh/ssh_config, defaults), and
// the runbook's values go on its command line, where they win as options given to ssh do.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import type { HostSpec } from '../runbook/types.js';
import { assembleResolvedHost, homeDir, passwdHome, SshConfigError } from './ssh-config-common.js';
import type { AlgorithmLists, ResolvedHost } from './types.js';

const SSH_G_TIMEOUT_MS = 10_000;

/** What ssh -G lists when no IdentityFile is given anywhere: nightshift's own defaults (auth.ts) apply instead. */
const SSH_DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((name) => `~/.ssh/${name}`);

export interface SshResolveOptions {
  configFile: string;
  env: NodeJS.ProcessEnv;
  sshBinary: string;
}

/**
 * The first executable `ssh` on PATH (env's, else the process's), or null. Looked up without
 * yielding (a few access calls): ssh -G starts before what the caller loads next runs.
 */
export function findSsh(env: NodeJS.ProcessEnv = process.env): string | null {
  const search = env['PATH'] ?? process.env['PATH'] ?? '';
  for (const dir of search.split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'ssh');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Which config ssh reads. Without -F, ssh reads ~/.ssh/config, ~ being the passwd entry's home
 * (not HOME), and then /etc/ssh/ssh_config; with -F it reads that file only. So -F is left out
 * exactly when the file asked for is the one ssh would read anyway: then the answer is that of
 * a plain `ssh alias`, system-wide config included. Any other file (a --ssh-config, a test's
 * private HOME) is passed with -F, and the answer is that of `ssh -F file alias`. A missing
 * file counts as empty, as it does for ssh's own default file.
 */
export function configArguments(configFile: string): string[] {
  const absolute = path.resolve(configFile);
  if (absolute === path.join(passwdHome(), '.ssh', 'config')) return [];
  return ['-F', existsSync(absolute) ? absolute : '/dev/null'];
}

/** ssh's command line for `spec`: the runbook's values as command-line options, which ssh lets win over every config file. */
export function sshGArguments(spec: HostSpec, configFile: string): string[] {
  // ssh expands %h and %% in HostName and the % tokens in IdentityFile: a literal % must stay one.
  const literal = (text: string) => text.replace(/%/g, '%%');
  return [
    '-G',
    ...configArguments(configFile),
    ...(spec.address !== undefined ? ['-o', `HostName=${literal(spec.address)}`] : []),
    ...(spec.user !== undefined ? ['-l', spec.user] : []),
    ...(spec.port !== undefined ? ['-p', String(spec.port)] : []),
    // -i would drop a file that does not exist (yet); -o IdentityFile keeps it, first, like -i.
    ...(spec.identityFile !== undefined ? ['-o', `IdentityFile=${literal(spec.identityFile)}`] : []),
    '--',
    spec.alias,
  ];
}

/** `ssh -G` for the host, turned into nightshift's settings. */
export async function resolveWithSsh(spec: HostSpec, options: SshResolveOptions): Promise<ResolvedHost> {
  const args = sshGArguments(spec, options.configFile);
  const output = await runSshG(options.sshBinary, args, spec, options);
  return settingsFromSshG(spec, parseSshG(output), homeDir(options.env), options.env);
}

/** ssh -G's lines: lowercase key, space, value; repeated keys (identityfile, certificatefile) keep every value. */
export function parseSshG(output: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const match = /^(\S+) (.*)$/.exec(line.trimEnd());
    if (!match) continue;
    const key = match[1]!.toLowerCase();
    settings.set(key, [...(settings.get(key) ?? []), match[2]!]);
  }
  return settings;
}

/**
 * ResolvedHost from ssh -G's settings. ssh expands ~ and %d with the passwd entry's home; when
 * HOME is another folder (a test, sudo -E), nightshift's home is HOME, so what ssh put under its
 * home is moved under HOME, and the ~ of values ssh printed unexpanded is HOME too.
 */
export function settingsFromSshG(spec: HostSpec, settings: Map<string, string[]>, home: string, env: NodeJS.ProcessEnv): ResolvedHost {
  const first = (key: string): string | undefined => settings.get(key)?.[0];
  const where = `ssh -G for ${spec.alias} (host ${spec.name})`;
  const address = first('hostname');
  const user = first('user');
  const port = Number(first('port'));
  if (address === undefined || user === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SshConfigError(`${where} gave no usable hostname, user and port (hostname ${address}, user ${user}, port ${first('port')}).`);
  }
  const sshHome = passwdHome();
  const rehome = (file: string): string =>
    sshHome !== home && (file === sshHome || file.startsWith(`${sshHome}/`)) ? path.join(home, file.slice(sshHome.length)) : file;
  const identities = settings.get('identityfile') ?? [];

  return assembleResolvedHost({
    spec,
    resolvedBy: 'ssh -G',
    where,
    home,
    env,
    values: (key) => settings.get(key) ?? [],
    address,
    port,
    user,
    identityFiles: sameList(identities, SSH_DEFAULT_IDENTITIES) ? [] : identities,
    // One line, the files separated by single spaces.
    knownHostsFiles: (key) =>
      first(key)
        ?.split(' ')
        .filter((file) => file !== ''),
    // ssh prints IdentityAgent and the known hosts files with ~ and % tokens expanded (IdentityFile and CertificateFile as written).
    expandedBySsh: rehome,
    algorithms: algorithmLists(settings),
  });
}

function algorithmLists(settings: Map<string, string[]>): AlgorithmLists {
  const list = (key: string) =>
    settings
      .get(key)?.[0]
      ?.split(',')
      .filter((name) => name !== '');
  const lists: AlgorithmLists = {};
  const kex = list('kexalgorithms');
  const hostKey = list('hostkeyalgorithms');
  const cipher = list('ciphers');
  const mac = list('macs');
  const pubkey = list('pubkeyacceptedalgorithms');
  if (kex) lists.kex = kex;
  if (hostKey) lists.hostKey = hostKey;
  if (cipher) lists.cipher = cipher;
  if (mac) lists.mac = mac;
  if (pubkey) lists.pubkey = pubkey;
  return lists;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

function runSshG(binary: string, args: string[], spec: HostSpec, options: SshResolveOptions): Promise<string> {
  const shown = `${binary} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env }, timeout: SSH_G_TIMEOUT_MS });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (error) => reject(new SshConfigError(`Could not run ${shown} to read the ssh config for ${spec.name}: ${error.message}.`)));
    child.once('close', (code, signal) => {
      const text = Buffer.concat(stderr)
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('Pseudo-terminal will not be allocated'))
        .map((line) => line.trim().replace(/\.$/, ''))
        .join('; ');
      if (code === 0) {
        resolve(Buffer.concat(stdout).toString('utf8'));
        return;
      }
      const config = args.includes('-F') ? args[args.indexOf('-F') + 1] : `${options.configFile} and /etc/ssh/ssh_config`;
      if (signal !== null) {
        reject(
          new SshConfigError(
            `${shown} did not answer within ${SSH_G_TIMEOUT_MS / 1000} s while reading ${config} for ${spec.name}` +
              `${text ? ` (${text})` : ''}; a Match exec command there may hang. Check that config.`,
          ),
        );
        return;
      }
      reject(
        new SshConfigError(
          `ssh could not read the ssh config ${config} for ${spec.name} (alias ${spec.alias}): ${text || `exit code ${code}`}. ` +
            `Correct that file: ssh itself would refuse to connect with it.`,
        ),
      );
    });
  });
}
