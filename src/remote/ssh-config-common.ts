// What both readings of the ssh config share (ssh -G's and nightshift's own): the error,
// the home folder, ssh_config(5)'s % tokens and ~ paths, and how a host's settings become a ResolvedHost.
import { createHash } from 'node:crypto';
import { homedir, hostname, userInfo } from 'node:os';
import path from 'node:path';
import type { HostSpec } from '../runbook/types.js';
import type { AlgorithmLists, ResolvedHost } from './types.js';

export class SshConfigError extends Error {
  override readonly name = 'SshConfigError';
}

/** nightshift's home: HOME, else the passwd entry's. */
export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['HOME'] || homedir();
}

/** ssh's home: always the passwd entry's, whatever HOME says. */
export function passwdHome(): string {
  try {
    return userInfo().homedir;
  } catch {
    return homedir();
  }
}

export function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? process.env['LOGNAME'] ?? 'root';
  }
}

export interface TokenSource {
  /** The name given to ssh (the alias). */
  alias: string;
  /** HostName, after its own %h. */
  address: string;
  port: number;
  user: string;
  home: string;
  hostKeyAlias?: string;
  proxyJump?: string;
}

/** ssh_config(5) TOKENS as IdentityFile, CertificateFile, IdentityAgent and the known hosts files take them. */
export function pathTokens(source: TokenSource): Record<string, string> {
  const local = hostname();
  const short = local.split('.')[0] ?? local;
  const port = String(source.port);
  return {
    C: createHash('sha1').update(`${local}${source.address}${port}${source.user}`).digest('hex'),
    d: source.home,
    h: source.address,
    i: String(process.getuid?.() ?? ''),
    j: source.proxyJump ?? '',
    k: source.hostKeyAlias ?? source.alias,
    L: short,
    l: local,
    n: source.alias,
    p: port,
    r: source.user,
    u: localUser(),
  };
}

/** The tokens ProxyCommand takes. */
export function commandTokens(source: TokenSource): Record<string, string> {
  return { h: source.address, n: source.alias, p: String(source.port), r: source.user };
}

/** %% and the letters given; an unknown letter is an error, as in ssh. */
export function expandTokens(text: string, tokens: Record<string, string>, directive: string): string {
  return text.replace(/%(.)/gs, (_whole, letter: string) => {
    if (letter === '%') return '%';
    const value = tokens[letter];
    if (value === undefined) throw new SshConfigError(`${directive} ${text} uses %${letter}, which ssh does not expand there.`);
    return value;
  });
}

/** `~` and `~/…` become the home folder; relative paths are taken from the current folder, as ssh -i does. */
export function expandPath(file: string, home: string): string {
  if (file === '~') return home;
  if (file.startsWith('~/')) return path.join(home, file.slice(2));
  return path.resolve(file);
}

/** A yes/no option as ssh reads it (true/false too). */
export function isYes(value: string | undefined): boolean {
  return value !== undefined && /^(yes|true)$/i.test(value);
}

/** One reading of the config for a host (ssh -G's or the own parser's), with what that reading does its own way. */
export interface ConfigReading {
  spec: HostSpec;
  resolvedBy: NonNullable<ResolvedHost['resolvedBy']>;
  /** The reading and the host, for errors: "ssh -G for dragon (host web)". */
  where: string;
  /** nightshift's home (HOME), the ~ of the paths expanded here. */
  home: string;
  env: NodeJS.ProcessEnv;
  /** Every value the reading gives a setting (ssh's lowercase keyword), in order; [] when it is not set. */
  values: (key: string) => string[];
  /** Where to log in, as the reader worked it out and checked it. */
  address: string;
  port: number;
  user: string;
  /** IdentityFile names as written (~ and % tokens not yet expanded). */
  identityFiles: string[];
  /** The file names UserKnownHostsFile or GlobalKnownHostsFile list (`none` included); undefined when not set. */
  knownHostsFiles: (key: string) => string[] | undefined;
  /**
   * How a path that ssh has already expanded (IdentityAgent, the known hosts files) becomes
   * nightshift's; absent: their ~ and % tokens are expanded here, like IdentityFile's.
   */
  expandedBySsh?: (file: string) => string;
  algorithms?: AlgorithmLists;
}

/** ResolvedHost from a reading of the config: proxies, % tokens and paths, the agent, known hosts files, yes/no options. */
export function assembleResolvedHost(reading: ConfigReading): ResolvedHost {
  const { spec, where, home, address, port, user } = reading;
  const setting = (key: string): string | undefined => reading.values(key)[0];

  const configJump = absentIfNone(setting('proxyjump'));
  const configCommand = absentIfNone(setting('proxycommand'));
  if (spec.proxyJump === undefined && configJump !== undefined && configCommand !== undefined) {
    throw new SshConfigError(`${where} sets both ProxyJump ${configJump} and ProxyCommand ${configCommand}; keep one of them.`);
  }
  // The runbook's proxy_jump is nightshift's (it may name runbook hosts ssh does not know): like ssh -J it wins over the
  // config's ProxyJump and replaces a ProxyCommand; "none" means a direct connection.
  const proxyJump = spec.proxyJump !== undefined ? absentIfNone(spec.proxyJump) : configJump;
  const hostKeyAlias = setting('hostkeyalias');
  const source: TokenSource = {
    alias: spec.alias,
    address,
    port,
    user,
    home,
    ...(hostKeyAlias !== undefined ? { hostKeyAlias } : {}),
    ...(proxyJump !== undefined ? { proxyJump } : {}),
  };
  const tokens = pathTokens(source);
  const expanded = (file: string, directive: string): string => expandPath(expandTokens(file, tokens, directive), home);
  const sshExpanded = (file: string, directive: string): string => (reading.expandedBySsh ? reading.expandedBySsh(file) : expanded(file, directive));
  const notNone = (file: string): boolean => file.toLowerCase() !== 'none';

  const identityFiles = reading.identityFiles.filter(notNone).map((file) => expanded(file, 'IdentityFile'));
  const certificateFiles = reading
    .values('certificatefile')
    .filter(notNone)
    .map((file) => expanded(file, 'CertificateFile'));
  const proxyCommand =
    spec.proxyJump === undefined && configCommand !== undefined ? expandTokens(configCommand, commandTokens(source), 'ProxyCommand') : undefined;
  const identityAgent = agentSocket(setting('identityagent'), reading.env, where, (file) => sshExpanded(file, 'IdentityAgent'));
  const knownHosts = (key: string, directive: string): string[] | undefined =>
    reading
      .knownHostsFiles(key)
      ?.filter(notNone)
      .map((file) => sshExpanded(file, directive));
  const userKnownHostsFiles = knownHosts('userknownhostsfile', 'UserKnownHostsFile');
  const globalKnownHostsFiles = knownHosts('globalknownhostsfile', 'GlobalKnownHostsFile');

  return {
    name: spec.name,
    address,
    port,
    user,
    identityFiles: [...new Set(identityFiles)],
    ...(proxyJump !== undefined ? { proxyJump } : {}),
    resolvedBy: reading.resolvedBy,
    identitiesOnly: isYes(setting('identitiesonly')),
    ...(identityAgent !== undefined ? { identityAgent } : {}),
    forwardAgent: forwardAgent(setting('forwardagent'), where),
    ...(hostKeyAlias !== undefined ? { hostKeyAlias } : {}),
    ...(proxyCommand !== undefined ? { proxyCommand } : {}),
    ...(certificateFiles.length > 0 ? { certificateFiles } : {}),
    ...(reading.algorithms !== undefined ? { algorithms: reading.algorithms } : {}),
    ...(userKnownHostsFiles !== undefined ? { userKnownHostsFiles } : {}),
    ...(globalKnownHostsFiles !== undefined ? { globalKnownHostsFiles } : {}),
    hashKnownHosts: isYes(setting('hashknownhosts')),
  };
}

function absentIfNone(value: string | undefined): string | undefined {
  return value === undefined || value.toLowerCase() === 'none' ? undefined : value;
}

/**
 * IdentityAgent as nightshift takes it: SSH_AUTH_SOCK (the default) is absent, `none` stays,
 * `$NAME` is that variable's value (unset is an error, as for ssh), anything else is a path.
 */
function agentSocket(value: string | undefined, env: NodeJS.ProcessEnv, where: string, rehome: (file: string) => string): string | undefined {
  if (value === undefined || value === 'SSH_AUTH_SOCK') return undefined;
  if (value.toLowerCase() === 'none') return 'none';
  if (value.startsWith('$')) {
    const name = value.slice(1);
    const socket = env[name];
    if (!socket)
      throw new SshConfigError(`${where}: IdentityAgent ${value} names the environment variable ${name}, which is not set. Set it, or change IdentityAgent.`);
    return socket;
  }
  return rehome(value);
}

/** ForwardAgent yes/no; a socket path or variable (forwarding another agent) is refused rather than half-honoured. */
function forwardAgent(value: string | undefined, where: string): boolean {
  if (value === undefined || /^(no|false)$/i.test(value)) return false;
  if (/^(yes|true)$/i.test(value)) return true;
  throw new SshConfigError(
    `${where}: ForwardAgent ${value} forwards another agent than the one nightshift uses, which nightshift does not do. ` +
      `Set ForwardAgent yes (the agent of SSH_AUTH_SOCK or IdentityAgent) or no.`,
  );
}
