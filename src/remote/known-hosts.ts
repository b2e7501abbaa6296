// OpenSSH known_hosts files: parsing, matching a host, and recording a new key.
// Format: sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT".
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFile, chmod, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export type KnownHostsMarker = 'revoked' | 'cert-authority';

export type HostField = { kind: 'hashed'; salt: Buffer; hash: Buffer } | { kind: 'patterns'; patterns: string[] };

export interface KnownHostsEntry {
  file: string;
  line: number;
  marker: KnownHostsMarker | null;
  hosts: HostField;
  keyType: string;
  key: Buffer;
}

/** A key found for a host, with where it was found. */
export interface KnownKey {
  keyType: string;
  key: Buffer;
  fingerprint: string;
  /** file:line */
  source: string;
}

export interface HostKeyRecords {
  keys: KnownKey[];
  revoked: KnownKey[];
  /** @cert-authority lines for the host: CA keys its host certificate would be signed by. */
  certAuthorities: KnownKey[];
}

/** How known_hosts names a host: `addr` on port 22, `[addr]:port` otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** OpenSSH style: SHA256: and the unpadded base64 of the key blob's sha256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written inside an SSH public key blob (its first string). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return '';
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('latin1');
}

/** Lines that do not parse are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const entry = parseLine(lines[index] ?? '', file, index + 1);
    if (entry) entries.push(entry);
  }
  return entries;
}

function parseLine(raw: string, file: string, line: number): KnownHostsEntry | null {
  const text = raw.trim();
  if (text === '' || text.startsWith('#')) return null;
  const fields = text.split(/\s+/);
  let marker: KnownHostsMarker | null = null;
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift()?.slice(1);
    if (name !== 'revoked' && name !== 'cert-authority') return null;
    marker = name;
  }
  const [hostText, keyType, keyText] = fields;
  if (hostText === undefined || keyType === undefined || keyText === undefined) return null;
  const hosts = parseHostField(hostText);
  if (!hosts) return null;
  const key = Buffer.from(keyText, 'base64');
  // A blob names its own type; a line whose type and blob disagree is corrupt.
  if (key.length === 0 || keyTypeOf(key) !== keyType) return null;
  return { file, line, marker, hosts, keyType, key };
}

function parseHostField(text: string): HostField | null {
  if (text.startsWith('|')) {
    const [, magic, salt, hash] = text.split('|');
    if (magic !== '1' || !salt || !hash) return null;
    return { kind: 'hashed', salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
  }
  return { kind: 'patterns', patterns: text.split(',').filter((pattern) => pattern !== '') };
}

/** Whether an entry's host field names `name` (as made by knownHostsName). */
export function entryMatches(hosts: HostField, name: string): boolean {
  const lowered = name.toLowerCase();
  if (hosts.kind === 'hashed') {
    const computed = createHmac('sha1', hosts.salt).update(lowered).digest();
    return computed.length === hosts.hash.length && timingSafeEqual(computed, hosts.hash);
  }
  let positive = false;
  for (const pattern of hosts.patterns) {
    const negated = pattern.startsWith('!');
    if (!wildcardMatch(negated ? pattern.slice(1) : pattern, lowered)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** `*` any run of characters, `?` exactly one; case-insensitive like OpenSSH's match_hostname. */
export function wildcardMatch(pattern: string, text: string): boolean {
  const source = [...pattern.toLowerCase()].map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, 's').test(text.toLowerCase());
}

/** Keys recorded for (address, port). */
export function lookupHostKeys(entries: KnownHostsEntry[], address: string, port: number): HostKeyRecords {
  return lookupHostKeysByName(entries, knownHostsName(address, port));
}

/** Keys recorded under a known_hosts name: `[addr]:port`, or a HostKeyAlias as it is. */
export function lookupHostKeysByName(entries: KnownHostsEntry[], name: string): HostKeyRecords {
  const records: HostKeyRecords = { keys: [], revoked: [], certAuthorities: [] };
  for (const entry of entries) {
    if (!entryMatches(entry.hosts, name)) continue;
    const known: KnownKey = {
      keyType: entry.keyType,
      key: entry.key,
      fingerprint: fingerprint(entry.key),
      source: `${entry.file}:${entry.line}`,
    };
    const list = entry.marker === 'revoked' ? records.revoked : entry.marker === 'cert-authority' ? records.certAuthorities : records.keys;
    list.push(known);
  }
  return records;
}

/** Reads the files in order; a missing file is an empty one. */
export async function loadKnownHosts(files: string[]): Promise<KnownHostsEntry[]> {
  const entries: KnownHostsEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new Error(`Could not read the known_hosts file ${file}: ${(error as Error).message}.`);
    }
    entries.push(...parseKnownHosts(text, file));
  }
  return entries;
}

/** Appends `name type base64`, creating the file (0600) and its folder (0700) when missing. */
export async function appendKnownHost(file: string, address: string, port: number, key: Buffer): Promise<void> {
  await recordKnownHost(file, knownHostsName(address, port), key);
}

/** `|1|salt|hash`: HMAC-SHA1 of the name keyed by a random 20-byte salt, as ssh-keygen -H writes it. */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name.toLowerCase()).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

/**
 * Appends `name type base64` (the name hashed when `hashed`: HashKnownHosts), creating the
 * file (0600) and its folder (0700) when missing.
 */
export async function recordKnownHost(file: string, name: string, key: Buffer, options: { hashed?: boolean } = {}): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  let created = false;
  try {
    const info = await stat(file);
    if (info.size > 0) {
      const text = await readFile(file);
      if (text[text.length - 1] !== 0x0a) prefix = '\n';
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    created = true;
  }
  const line = `${options.hashed ? hashHostName(name) : name} ${keyTypeOf(key)} ${key.toString('base64')}\n`;
  await appendFile(file, prefix + line, { mode: 0o600 });
  // appendFile's mode is filtered by the umask; a new known_hosts is private whatever the umask.
  if (created) await chmod(file, 0o600);
}
