// Where a runbook host ends up: ~/.ssh/config's settings for its alias, overridden by the
// runbook's own values, like options given on ssh's command line.
import { readdir, readFile } from 'node:fs/promises';
import { homedir, hostname, userInfo } from 'node:os';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import type { HostSpec } from '../runbook/types.js';
import type { ResolvedHost } from './types.js';
import { wildcardMatch } from './known-hosts.js';

export interface ResolveOptions {
  /** ssh config file (a missing one is an empty one). */
  configFile: string;
  /** Where HOME comes from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export class SshConfigError extends Error {
  override readonly name = 'SshConfigError';
}

export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['HOME'] || homedir();
}

export function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? process.env['LOGNAME'] ?? 'root';
  }
}

export async function resolveHost(spec: HostSpec, options: ResolveOptions): Promise<ResolvedHost> {
  const env = options.env ?? process.env;
  const home = homeDir(env);
  const text = await readConfigText(options.configFile, home);
  // Match exec is not run: resolving a host must not start commands (and ssh-config runs them with a bash-only wrapper).
  const computed = SSHConfig.parse(text).compute(spec.alias, { ignoreCase: true, matchExec: false });
  const setting = (key: string): string | undefined => {
    const value = computed[key];
    return Array.isArray(value) ? value[0] : value;
  };

  const proxyCommand = setting('proxycommand');
  if (proxyCommand !== undefined && proxyCommand.toLowerCase() !== 'none') {
    throw new SshConfigError(
      `${options.configFile} sets ProxyCommand ${proxyCommand} for ${spec.alias} (host ${spec.name}), which nightshift does not support ` +
        `(it goes through jump hosts with ProxyJump only); rather than silently connecting directly, it stops here: ` +
        `use ProxyJump (or proxy_jump in the runbook) instead, or give the host a different alias in the runbook.`,
    );
  }
  // The runbook's proxy_jump wins over the config's, as ssh -J does; "none" means a direct connection.
  const jump = spec.proxyJump ?? setting('proxyjump');
  const proxyJump = jump !== undefined && jump.toLowerCase() !== 'none' ? jump : undefined;

  const address = spec.address ?? expandTokens(setting('hostname') ?? spec.alias, { h: spec.alias }, 'HostName');
  const user = spec.user ?? setting('user') ?? localUser();
  const port = spec.port ?? parsePort(setting('port'), options.configFile, spec.alias) ?? 22;

  const tokens: Record<string, string> = {
    d: home,
    u: localUser(),
    h: address,
    r: user,
    p: String(port),
    n: spec.alias,
    l: hostname().split('.')[0] ?? '',
    i: String(process.getuid?.() ?? ''),
  };
  const configured = computed['identityfile'];
  const fromConfig = (Array.isArray(configured) ? configured : configured ? [configured] : []).filter(
    (file) => file.toLowerCase() !== 'none',
  );
  const identityFiles = [...(spec.identityFile ? [spec.identityFile] : []), ...fromConfig].map((file) =>
    expandPath(expandTokens(file, tokens, 'IdentityFile'), home),
  );

  return {
    name: spec.name,
    address,
    port,
    user,
    identityFiles: [...new Set(identityFiles)],
    ...(proxyJump !== undefined ? { proxyJump } : {}),
  };
}

function parsePort(value: string | undefined, file: string, alias: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SshConfigError(`${file} sets Port ${value} for ${alias}, which is not a port number (1-65535).`);
  }
  return port;
}

/** ssh_config(5) TOKENS: %% and the letters given; an unknown letter is an error, as in ssh. */
export function expandTokens(text: string, tokens: Record<string, string>, directive: string): string {
  return text.replace(/%(.)/gs, (whole, letter: string) => {
    if (letter === '%') return '%';
    const value = tokens[letter];
    if (value === undefined) throw new SshConfigError(`${directive} ${text} uses %${letter}, which nightshift does not expand.`);
    return value;
  });
}

/** `~` and `~/…` become the home folder; relative paths are taken from the current folder, as ssh -i does. */
export function expandPath(file: string, home: string): string {
  if (file === '~') return home;
  if (file.startsWith('~/')) return path.join(home, file.slice(2));
  return path.resolve(file);
}

/**
 * The config's text with Include directives replaced by the files they name (ssh-config
 * does not follow them). Relative includes are taken from ~/.ssh, as ssh does for the user config.
 */
async function readConfigText(file: string, home: string, depth = 0): Promise<string> {
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
  for (const line of text.split('\n')) {
    const include = /^\s*include\s*[\s=]\s*(.+?)\s*$/i.exec(line);
    if (!include?.[1]) {
      lines.push(line);
      continue;
    }
    for (const word of include[1].split(/\s+/)) {
      const pattern = word.replace(/^"(.*)"$/, '$1');
      const absolute = pattern.startsWith('~') ? expandPath(pattern, home) : path.resolve(path.join(home, '.ssh'), pattern);
      for (const included of await globFiles(absolute)) lines.push(await readConfigText(included, home, depth + 1));
    }
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
