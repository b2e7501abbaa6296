// What both readings of the ssh config share (ssh -G's and nightshift's own): the error,
// the home folder, ssh_config(5)'s % tokens and ~ paths.
import { createHash } from 'node:crypto';
import { homedir, hostname, userInfo } from 'node:os';
import path from 'node:path';

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
  return text.replace(/%(.)/gs, (whole, letter: string) => {
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
