import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  appendKnownHost,
  entryMatches,
  fingerprint,
  keyTypeOf,
  knownHostsName,
  loadKnownHosts,
  lookupHostKeys,
  lookupHostKeysByName,
  hashHostName,
  recordKnownHost,
  parseKnownHosts,
  wildcardMatch,
  type HostField,
} from './known-hosts.js';

// Keys and hashed lines made with the real ssh-keygen (-l for fingerprints, -H for hashing).
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMMwQvAXBm81mHh0T0nVgNg8QfoAmhnAnFgBHnyuGBfo';
const ED25519_FINGERPRINT = 'SHA256:P4jrbb0+pn90OUb2N44FKMuI6HWKkGVkoyY3LAth/pg';
const ECDSA =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEI4NvrQz0h3SdicrjxtgRloSotSw+TCU8VTi6948nhdmThPqOooBjc9DlIM5XlT+fOth4stxktaNIjIf+aApzU=';
const ECDSA_FINGERPRINT = 'SHA256:QK8mUtifCe5A8idSLUHBF9bJ/C5SkJWZtjjHXvwS+qI';
/** `[127.0.0.1]:2222` hashed */
const HASHED_LOCAL_2222 = '|1|vtXlMTb+jwIson/T2iBfjFWI2i8=|PQkGywxiEw8oUSj6tgcKp/NG6Sc=';
/** `dragon.example` hashed */
const HASHED_DRAGON = '|1|/yke73qSvms7pftohbDYpumlZmA=|ldVEDzUe1wFrlwbwIMQojRJiwUk=';

const blob = (line: string) => Buffer.from(line.split(' ')[1] ?? '', 'base64');
const patterns = (...list: string[]): HostField => ({ kind: 'patterns', patterns: list });

describe('parseKnownHosts', () => {
  test('reads plain, hashed and marked lines, skipping comments, blanks and junk, keeping line numbers', () => {
    const text = [
      '# comment',
      '',
      `dragon,192.0.2.1 ${ED25519} old dragon`,
      `${HASHED_DRAGON} ${ECDSA}`,
      `@revoked * ${ECDSA}`,
      `@cert-authority *.example ${ED25519}`,
      `@bogus * ${ED25519}`,
      'dragon ssh-ed25519 not-base64-at-all',
      `dragon ssh-rsa ${ED25519.split(' ')[1]}`,
      'dragon-only-a-host',
      `   indented ${ED25519}`,
    ].join('\n');
    const entries = parseKnownHosts(text, '/k');
    expect(entries.map((entry) => [entry.line, entry.marker, entry.keyType])).toEqual([
      [3, null, 'ssh-ed25519'],
      [4, null, 'ecdsa-sha2-nistp256'],
      [5, 'revoked', 'ecdsa-sha2-nistp256'],
      [6, 'cert-authority', 'ssh-ed25519'],
      [11, null, 'ssh-ed25519'],
    ]);
    expect(entries[0]?.hosts).toEqual(patterns('dragon', '192.0.2.1'));
    expect(entries[1]?.hosts.kind).toBe('hashed');
    expect(entries[0]?.file).toBe('/k');
  });

  test('accepts CRLF line ends', () => {
    expect(parseKnownHosts(`dragon ${ED25519}\r\n`, '/k')).toHaveLength(1);
  });
});

describe('matching a host', () => {
  test('known_hosts names: bare for port 22, [addr]:port otherwise', () => {
    expect(knownHostsName('dragon.example', 22)).toBe('dragon.example');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
    expect(knownHostsName('::1', 2222)).toBe('[::1]:2222');
  });

  test('comma lists, case-insensitively', () => {
    expect(entryMatches(patterns('dragon', 'Gateway.Example'), 'gateway.example')).toBe(true);
    expect(entryMatches(patterns('dragon'), 'GATEWAY')).toBe(false);
  });

  test('a port other than 22 only matches the [addr]:port form', () => {
    expect(entryMatches(patterns('127.0.0.1'), '[127.0.0.1]:2222')).toBe(false);
    expect(entryMatches(patterns('[127.0.0.1]:2222'), '[127.0.0.1]:2222')).toBe(true);
    expect(entryMatches(patterns('[127.0.0.1]:2222'), '[127.0.0.1]:2223')).toBe(false);
    expect(entryMatches(patterns('[127.0.0.1]:2222'), '127.0.0.1')).toBe(false);
  });

  test('wildcards * and ?', () => {
    expect(wildcardMatch('*.example', 'dragon.example')).toBe(true);
    expect(wildcardMatch('dragon?', 'dragon1')).toBe(true);
    expect(wildcardMatch('dragon?', 'dragon12')).toBe(false);
    expect(wildcardMatch('192.0.2.*', '192.0.2.17')).toBe(true);
    // Regular expression characters are literal.
    expect(wildcardMatch('192.0.2.1', '192x0x2x1')).toBe(false);
    expect(wildcardMatch('[127.0.0.*]:2222', '[127.0.0.9]:2222')).toBe(true);
    expect(entryMatches(patterns('*'), '[127.0.0.1]:2222')).toBe(true);
  });

  test('a negated pattern that matches vetoes the line; alone it matches nothing', () => {
    expect(entryMatches(patterns('*.example', '!old.example'), 'new.example')).toBe(true);
    expect(entryMatches(patterns('*.example', '!old.example'), 'old.example')).toBe(false);
    expect(entryMatches(patterns('!old.example'), 'new.example')).toBe(false);
  });

  test('hashed names made by ssh-keygen -H', () => {
    const [local] = parseKnownHosts(`${HASHED_LOCAL_2222} ${ED25519}`, '/k');
    const [dragon] = parseKnownHosts(`${HASHED_DRAGON} ${ECDSA}`, '/k');
    expect(local && entryMatches(local.hosts, '[127.0.0.1]:2222')).toBe(true);
    expect(local && entryMatches(local.hosts, '127.0.0.1')).toBe(false);
    expect(local && entryMatches(local.hosts, '[127.0.0.1]:2223')).toBe(false);
    expect(dragon && entryMatches(dragon.hosts, 'dragon.example')).toBe(true);
    expect(dragon && entryMatches(dragon.hosts, 'DRAGON.example')).toBe(true);
    expect(dragon && entryMatches(dragon.hosts, 'dragon.example.org')).toBe(false);
  });
});

describe('lookupHostKeys', () => {
  test('collects keys, revoked keys and @cert-authority keys with their sources', () => {
    const entries = [
      ...parseKnownHosts(`other ${ECDSA}\n[127.0.0.1]:2222 ${ED25519}\n@cert-authority * ${ECDSA}\n`, '/a'),
      ...parseKnownHosts(`@revoked [127.0.0.1]:* ${ECDSA}\n${HASHED_LOCAL_2222} ${ECDSA}\n`, '/b'),
    ];
    const records = lookupHostKeys(entries, '127.0.0.1', 2222);
    expect(records.keys.map((key) => [key.keyType, key.fingerprint, key.source])).toEqual([
      ['ssh-ed25519', ED25519_FINGERPRINT, '/a:2'],
      ['ecdsa-sha2-nistp256', ECDSA_FINGERPRINT, '/b:2'],
    ]);
    expect(records.revoked.map((key) => key.source)).toEqual(['/b:1']);
    expect(records.certAuthorities.map((key) => key.source)).toEqual(['/a:3']);
    // The @cert-authority line's * matches any host.
    expect(lookupHostKeys(entries, 'nowhere', 22)).toMatchObject({ keys: [], revoked: [], certAuthorities: [{ source: '/a:3' }] });
    expect(lookupHostKeys(parseKnownHosts(`other ${ECDSA}\n`, '/a'), 'nowhere', 22)).toEqual({ keys: [], revoked: [], certAuthorities: [] });
  });

  test('a HostKeyAlias is looked up as it is, without the port', () => {
    const entries = parseKnownHosts(
      `dragon-alias ${ED25519}
[dragon-alias]:2222 ${ECDSA}
`,
      '/a',
    );
    expect(lookupHostKeysByName(entries, 'dragon-alias').keys.map((key) => key.source)).toEqual(['/a:1']);
  });
});

describe('hashed names (HashKnownHosts)', () => {
  test("hashHostName gives ssh-keygen -H's form, matched by the name alone", () => {
    const hashed = hashHostName('[127.0.0.1]:2222', Buffer.alloc(20, 7));
    expect(hashed).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}=$/);
    const [entry] = parseKnownHosts(`${hashed} ${ED25519}\n`, '/h');
    expect(entry && entryMatches(entry.hosts, '[127.0.0.1]:2222')).toBe(true);
    expect(entry && entryMatches(entry.hosts, '[127.0.0.1]:2223')).toBe(false);
    // A fresh salt each time.
    expect(hashHostName('dragon')).not.toBe(hashHostName('dragon'));
  });

  test('recordKnownHost writes the hashed name when asked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-kh-'));
    try {
      const file = path.join(dir, 'known_hosts');
      await recordKnownHost(file, 'dragon-alias', blob(ED25519), { hashed: true });
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('dragon-alias');
      expect(lookupHostKeysByName(await loadKnownHosts([file]), 'dragon-alias').keys).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('keys', () => {
  test('fingerprints are the ones ssh-keygen -l prints', () => {
    expect(fingerprint(blob(ED25519))).toBe(ED25519_FINGERPRINT);
    expect(fingerprint(blob(ECDSA))).toBe(ECDSA_FINGERPRINT);
  });

  test('the key type is read from the blob', () => {
    expect(keyTypeOf(blob(ECDSA))).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOf(Buffer.alloc(2))).toBe('');
  });
});

describe('files', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  test('a missing file is an empty one', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-kh-'));
    expect(await loadKnownHosts([path.join(dir, 'none'), path.join(dir, 'none', 'deeper')])).toEqual([]);
  });

  test('appending creates the folder (0700) and the file (0600), then adds lines that read back', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-kh-'));
    const file = path.join(dir, 'home', '.ssh', 'known_hosts');
    await appendKnownHost(file, '127.0.0.1', 2222, blob(ED25519));
    await appendKnownHost(file, 'dragon.example', 22, blob(ECDSA));
    expect(readFileSync(file, 'utf8')).toBe(`[127.0.0.1]:2222 ${ED25519}\ndragon.example ${ECDSA}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const records = lookupHostKeys(await loadKnownHosts([file]), 'dragon.example', 22);
    expect(records.keys.map((key) => key.source)).toEqual([`${file}:2`]);
  });

  test('appending to a file without a final newline starts a new line', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-kh-'));
    const file = path.join(dir, 'known_hosts');
    writeFileSync(file, `other ${ECDSA}`);
    await appendKnownHost(file, 'dragon', 22, blob(ED25519));
    expect(readFileSync(file, 'utf8')).toBe(`other ${ECDSA}\ndragon ${ED25519}\n`);
  });
});
