// Where a runbook host ends up: ~/.ssh/config's settings for its alias, overridden by the
// runbook's own values, like options given on ssh's command line. OpenSSH answers when an
// ssh binary is there (ssh -G, see ssh-resolve.ts); nightshift's own reading of the config is
// the fallback without one, and it refuses what it cannot read the way ssh would.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import type { HostSpec } from '../runbook/types.js';
import type { AlgorithmLists, ResolvedHost } from './types.js';
import { wildcardMatch } from './known-hosts.js';
import { assembleAlgorithms, OPENSSH_ALGORITHMS, type AlgorithmCategory } from './openssh-defaults.js';
import { assembleResolvedHost, expandPath, expandTokens, homeDir, localUser, SshConfigError } from './ssh-config-common.js';
import { findSsh, resolveWithSsh } from './ssh-resolve.js';
import { resolveManyWithSsh } from './ssh-resolve-many.js';

export { expandPath, expandTokens, homeDir, localUser, SshConfigError } from './ssh-config-common.js';

export interface ResolveOptions {
  /** ssh config file (a missing one is an empty one). */
  configFile: string;
  /** Where HOME (and PATH, to find ssh) come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The ssh binary to ask (ssh -G); null: none, nightshift reads the config itself. Default: `ssh` on PATH. */
  sshBinary?: string | null;
}

export async function resolveHost(spec: HostSpec, options: ResolveOptions): Promise<ResolvedHost> {
  const env = options.env ?? process.env;
  const sshBinary = options.sshBinary === undefined ? await sshOnPathOf(env) : options.sshBinary;
  if (sshBinary !== null) return resolveWithSsh(spec, { configFile: options.configFile, env, sshBinary });
  return resolveWithOwnParser(spec, options.configFile, env);
}

/**
 * Many hosts' settings at once, ahead of their logins (a check of a rollout): those ssh -G
 * answered for in one batch (ssh-resolve-many.ts). Hosts left out are resolved alone later.
 */
export async function resolveHostsAhead(specs: HostSpec[], options: ResolveOptions): Promise<Map<string, ResolvedHost>> {
  const env = options.env ?? process.env;
  const sshBinary = options.sshBinary === undefined ? await sshOnPathOf(env) : options.sshBinary;
  if (sshBinary === null) return new Map();
  return resolveManyWithSsh(specs, { configFile: options.configFile, env, sshBinary });
}

/** ssh on an environment's PATH, looked up once per environment and PATH: a fleet resolves hundreds of hosts with the same. */
const sshFound = new WeakMap<NodeJS.ProcessEnv, { path: string | undefined; ssh: Promise<string | null> }>();

function sshOnPathOf(env: NodeJS.ProcessEnv): Promise<string | null> {
  const known = sshFound.get(env);
  if (known && known.path === env['PATH']) return known.ssh;
  const ssh = Promise.resolve(findSsh(env));
  sshFound.set(env, { path: env['PATH'], ssh });
  return ssh;
}

const ALGORITHM_KEYS: Record<AlgorithmCategory, string> = {
  kex: 'kexalgorithms',
  hostKey: 'hostkeyalgorithms',
  cipher: 'ciphers',
  mac: 'macs',
  pubkey: 'pubkeyacceptedalgorithms',
};

/** The fallback without ssh: the config read by nightshift, ~/.ssh/config only (not /etc/ssh/ssh_config). */
export async function resolveWithOwnParser(spec: HostSpec, configFile: string, env: NodeJS.ProcessEnv): Promise<ResolvedHost> {
  const home = homeDir(env);
  const text = await readConfigText(configFile, home, spec.alias);
  // Match exec never gets here (readConfigText refuses it): no command is run.
  const computed = SSHConfig.parse(text).compute(spec.alias, { ignoreCase: true, matchExec: false });
  const values = (key: string): string[] => {
    const value = computed[key];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  const setting = (key: string): string | undefined => values(key)[0];
  const where = `${configFile} for ${spec.alias} (host ${spec.name})`;

  // Only what the config sets: the other lists stay ssh2's defaults.
  const algorithms: AlgorithmLists = {};
  for (const category of Object.keys(ALGORITHM_KEYS) as AlgorithmCategory[]) {
    const value = setting(ALGORITHM_KEYS[category]);
    if (value !== undefined) algorithms[category] = assembleAlgorithms(category, value, `${where}: ${OPENSSH_ALGORITHMS[category].directive}`);
  }

  return assembleResolvedHost({
    spec,
    resolvedBy: 'own parser',
    where,
    home,
    env,
    values,
    address: spec.address ?? expandTokens(setting('hostname') ?? spec.alias, { h: spec.alias }, 'HostName'),
    port: spec.port ?? parsePort(setting('port'), configFile, spec.alias) ?? 22,
    user: spec.user ?? setting('user') ?? localUser(),
    // The runbook's identity_file first, as ssh -i's.
    identityFiles: [...(spec.identityFile ? [spec.identityFile] : []), ...values('identityfile')],
    knownHostsFiles: (key) => {
      const listed = values(key)
        .flatMap((value) => value.split(/\s+/))
        .filter((file) => file !== '');
      return listed.length === 0 ? undefined : listed;
    },
    ...(Object.keys(algorithms).length > 0 ? { algorithms } : {}),
  });
}

function parsePort(value: string | undefined, file: string, alias: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SshConfigError(`${file} sets Port ${value} for ${alias}, which is not a port number (1-65535).`);
  }
  return port;
}

/** Whether a Host line's patterns (negations first, as ssh) select `alias`. */
function hostLineMatches(patterns: string[], alias: string): boolean {
  let matched = false;
  for (const raw of patterns) {
    const pattern = raw.replace(/^"(.*)"$/, '$1');
    if (pattern.startsWith('!')) {
      if (wildcardMatch(pattern.slice(1), alias)) return false;
    } else if (wildcardMatch(pattern, alias)) {
      matched = true;
    }
  }
  return matched;
}

/** Match criteria the ssh-config package evaluates; it counts any other (canonical, localnetwork, tagged, a negated one…) as false. */
const READABLE_MATCH = new Set(['all', 'final', 'host', 'originalhost', 'user', 'localuser']);
const MATCH_WITHOUT_ARGUMENT = new Set(['all', 'canonical', 'final']);

/** The first criterion of a Match line's words that the own parser cannot evaluate, if any. */
function unreadableMatchCriterion(words: string[]): string | undefined {
  for (let index = 0; index < words.length; index += 1) {
    const keyword = words[index]!.toLowerCase();
    if (!READABLE_MATCH.has(keyword)) return words[index];
    if (!MATCH_WITHOUT_ARGUMENT.has(keyword)) index += 1;
  }
  return undefined;
}

const OWN_PARSER_HINT = 'nightshift reads the ssh config itself only because no ssh binary was found; install the OpenSSH client (ssh) so that ssh -G answers';

/**
 * The config's text with Include directives replaced by the files they name (ssh-config
 * does not follow them). Relative includes are taken from ~/.ssh, as ssh does for the user config.
 * An Include inside a Host block counts only for the hosts of that block, as in ssh: it is left
 * out for other aliases, and the block's Host line is repeated after it, so that what follows
 * still belongs to the block. Match exec is refused (running commands is ssh's business).
 */
async function readConfigText(file: string, home: string, alias: string, depth = 0): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return '';
    throw new SshConfigError(`Could not read the ssh config ${file}: ${(error as Error).message}.`);
  }
  if (depth >= 16) throw new SshConfigError(`${file}: Include nested too deeply (16 levels); is there an Include loop?`);
  const lines: string[] = [];
  /** The Host or Match line the next lines belong to (none: the top, for every host). */
  let block: { line: string; kind: 'host' | 'match'; active: boolean } | undefined;
  for (const [index, line] of text.split('\n').entries()) {
    const at = `${file} line ${index + 1}`;
    const section = /^\s*(host|match)(?:\s*=\s*|\s+)(.*?)\s*$/i.exec(line);
    if (section) {
      const kind = section[1]!.toLowerCase() as 'host' | 'match';
      const words = section[2]!.split(/\s+/).filter((word) => word !== '');
      if (kind === 'match' && words.some((word) => /^!?exec$/i.test(word))) {
        throw new SshConfigError(
          `${at}: ${line.trim()}: nightshift cannot tell whether Match exec matches without running the command, ` +
            `and will not guess (it might reach another server). ${OWN_PARSER_HINT}.`,
        );
      }
      const unknown = kind === 'match' ? unreadableMatchCriterion(words) : undefined;
      if (unknown !== undefined) {
        throw new SshConfigError(
          `${at}: ${line.trim()}: nightshift's own reading of the config does not evaluate Match ${unknown}, ` +
            `and will not guess (it might reach another server). ${OWN_PARSER_HINT}.`,
        );
      }
      block = { line, kind, active: kind === 'match' || hostLineMatches(words, alias) };
      lines.push(line);
      continue;
    }
    const include = /^\s*include(?:\s*=\s*|\s+)(.+?)\s*$/i.exec(line);
    if (!include?.[1]) {
      lines.push(line);
      continue;
    }
    if (block?.kind === 'match') {
      throw new SshConfigError(`${at}: an Include inside a Match block, which nightshift's own reading cannot scope as ssh does. ${OWN_PARSER_HINT}.`);
    }
    if (block && !block.active) continue;
    for (const word of include[1].split(/\s+/)) {
      const pattern = word.replace(/^"(.*)"$/, '$1');
      const absolute = pattern.startsWith('~') ? expandPath(pattern, home) : path.resolve(path.join(home, '.ssh'), pattern);
      for (const included of await globFiles(absolute)) lines.push(await readConfigText(included, home, alias, depth + 1));
    }
    if (block) lines.push(block.line);
  }
  return lines.join('\n');
}

/** Wildcards are honoured in the last path component only, which covers `Include config.d/*`. */
async function globFiles(pattern: string): Promise<string[]> {
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  if (!/[*?]/.test(base)) return [pattern];
  try {
    const names = await readdir(dir);
    return names
      .filter((name) => wildcardMatch(base, name))
      .sort()
      .map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}
