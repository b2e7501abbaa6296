import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { HostSpec } from '../runbook/types.js';
import { expandTokens, localUser, resolveHost, SshConfigError, type ResolveOptions } from './ssh-config.js';
import { sshGArguments } from './ssh-resolve.js';

let home: string;
let configFile: string;

beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), 'ns-sshcfg-'));
  configFile = path.join(home, '.ssh', 'config');
  mkdirSync(path.dirname(configFile));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const spec = (fields: Partial<HostSpec> = {}): HostSpec => ({ name: 'dragon', alias: 'dragon', ...fields });
const config = (...lines: string[]) => writeFileSync(configFile, `${lines.join('\n')}\n`);

// Both readings of the config must agree: OpenSSH's (ssh -G) and nightshift's own, used without ssh.
describe.each([
  { resolvedBy: 'ssh -G', sshBinary: '/usr/bin/ssh' },
  { resolvedBy: 'own parser', sshBinary: null },
] as const)('resolveHost by $resolvedBy', ({ resolvedBy, sshBinary }) => {
  const resolve = (fields: Partial<HostSpec> = {}, options: Partial<ResolveOptions> = {}) =>
    resolveHost(spec(fields), { configFile, env: { HOME: home }, sshBinary, ...options });

  test('without a config file: the alias on port 22 as the current user', async () => {
    expect(await resolve()).toMatchObject({
      name: 'dragon',
      address: 'dragon',
      port: 22,
      user: localUser(),
      identityFiles: [],
      resolvedBy,
      identitiesOnly: false,
      forwardAgent: false,
      hashKnownHosts: false,
    });
  });

  test("the alias's HostName, Port, User and IdentityFile; the first value obtained wins", async () => {
    config(
      'Host dragon',
      '  HostName 192.0.2.10',
      '  Port 2222',
      '  User admin',
      '  IdentityFile ~/.ssh/dragon_key',
      'Host *',
      '  User nobody',
      '  Port 22',
      '  IdentityFile ~/.ssh/everyone_key',
    );
    expect(await resolve()).toMatchObject({
      name: 'dragon',
      address: '192.0.2.10',
      port: 2222,
      user: 'admin',
      identityFiles: [path.join(home, '.ssh', 'dragon_key'), path.join(home, '.ssh', 'everyone_key')],
    });
  });

  test('directive names are case-insensitive, as in ssh', async () => {
    config('Host dragon', '  hostname 192.0.2.11', '  PORT 2200', '  user Admin');
    expect(await resolve()).toMatchObject({ address: '192.0.2.11', port: 2200, user: 'Admin' });
  });

  test("the runbook's values override the config; its identity file comes first", async () => {
    config('Host dragon-old', '  HostName 192.0.2.10', '  Port 2222', '  User admin', '  IdentityFile ~/.ssh/config_key');
    expect(await resolve({ alias: 'dragon-old', address: '198.51.100.7', port: 22, user: 'root', identityFile: '~/keys/runbook_key' })).toMatchObject({
      name: 'dragon',
      address: '198.51.100.7',
      port: 22,
      user: 'root',
      identityFiles: [path.join(home, 'keys', 'runbook_key'), path.join(home, '.ssh', 'config_key')],
    });
  });

  test('host patterns select sections', async () => {
    config('Host *.lab !old.lab', '  Port 2022', 'Host old.lab', '  Port 2099');
    expect((await resolve({ alias: 'new.lab' })).port).toBe(2022);
    expect((await resolve({ alias: 'old.lab' })).port).toBe(2099);
    expect((await resolve({ alias: 'elsewhere' })).port).toBe(22);
  });

  test('IdentityFile tokens %d %u %h %r %p %n %% are expanded', async () => {
    config('Host dragon', '  HostName gw.example', '  User admin', '  Port 2222', '  IdentityFile %d/k/%u-%h-%r-%p-%n-100%%');
    const resolved = await resolve();
    expect(resolved.identityFiles).toEqual([path.join(home, 'k', `${localUser()}-gw.example-admin-2222-dragon-100%`)]);
  });

  test('%h in IdentityFile is the address after the runbook override', async () => {
    config('Host dragon', '  HostName gw.example', '  IdentityFile ~/k/%h');
    expect((await resolve({ address: '192.0.2.1' })).identityFiles).toEqual([path.join(home, 'k', '192.0.2.1')]);
  });

  test('%h in HostName is the alias', async () => {
    config('Host dragon', '  HostName %h.example.org');
    expect((await resolve()).address).toBe('dragon.example.org');
  });

  test('an unknown token is an error naming it', async () => {
    config('Host dragon', '  IdentityFile ~/k/%Z');
    await expect(resolve()).rejects.toThrow('IdentityFile ~/k/%Z uses %Z, which ssh does not expand there.');
  });

  test('IdentityFile none is no file', async () => {
    config('Host dragon', '  IdentityFile none');
    expect((await resolve()).identityFiles).toEqual([]);
  });

  test('ProxyJump from the config comes through as the jump hosts', async () => {
    config('Host dragon', '  ProxyJump root@bastion:2222,gate', '  HostName 192.0.2.10');
    expect(await resolve()).toMatchObject({ address: '192.0.2.10', proxyJump: 'root@bastion:2222,gate' });
  });

  test("the runbook's proxy_jump wins over the config's ProxyJump, as ssh -J does", async () => {
    config('Host dragon', '  ProxyJump bastion');
    expect((await resolve({ proxyJump: 'gate:2022' })).proxyJump).toBe('gate:2022');
    expect(await resolve({ proxyJump: 'none' })).not.toHaveProperty('proxyJump');
  });

  test('ProxyJump none is no proxy', async () => {
    config('Host dragon', '  ProxyJump none', '  HostName 192.0.2.10');
    const resolved = await resolve();
    expect(resolved.address).toBe('192.0.2.10');
    expect(resolved).not.toHaveProperty('proxyJump');
  });

  test('ProxyCommand comes through, its tokens expanded; the runbook proxy_jump replaces it, as ssh -J does', async () => {
    config('Host dragon', '  HostName gw.example', '  User ops', '  Port 2200', '  ProxyCommand ssh -W %h:%p bastion %r %n %%');
    expect(await resolve()).toMatchObject({ proxyCommand: 'ssh -W gw.example:2200 bastion ops dragon %' });
    expect(await resolve()).not.toHaveProperty('proxyJump');
    const jumped = await resolve({ proxyJump: 'gate' });
    expect(jumped).toMatchObject({ proxyJump: 'gate' });
    expect(jumped).not.toHaveProperty('proxyCommand');
  });

  test('ProxyCommand none is no proxy', async () => {
    config('Host dragon', '  ProxyCommand none');
    expect(await resolve()).not.toHaveProperty('proxyCommand');
  });

  test('IdentitiesOnly, IdentityAgent, ForwardAgent, HostKeyAlias, CertificateFile, known hosts files and HashKnownHosts', async () => {
    config(
      'Host dragon',
      '  HostName gw.example',
      '  IdentitiesOnly yes',
      '  IdentityAgent ~/agent.sock',
      '  ForwardAgent yes',
      '  HostKeyAlias dragon-key',
      '  CertificateFile ~/.ssh/%n-cert.pub',
      '  UserKnownHostsFile ~/.ssh/kh_%h %d/.ssh/kh2',
      '  GlobalKnownHostsFile /etc/ssh/site_known_hosts',
      '  HashKnownHosts yes',
    );
    expect(await resolve()).toMatchObject({
      identitiesOnly: true,
      identityAgent: path.join(home, 'agent.sock'),
      forwardAgent: true,
      hostKeyAlias: 'dragon-key',
      certificateFiles: [path.join(home, '.ssh', 'dragon-cert.pub')],
      userKnownHostsFiles: [path.join(home, '.ssh', 'kh_gw.example'), path.join(home, '.ssh', 'kh2')],
      globalKnownHostsFiles: ['/etc/ssh/site_known_hosts'],
      hashKnownHosts: true,
    });
  });

  test('IdentityAgent SSH_AUTH_SOCK is the default (absent), none stays none, $NAME is that variable', async () => {
    config('Host dragon', '  IdentityAgent SSH_AUTH_SOCK', 'Host gate', '  IdentityAgent none', 'Host other', '  IdentityAgent $MY_AGENT');
    expect(await resolve()).not.toHaveProperty('identityAgent');
    expect(await resolve({ alias: 'gate' })).toMatchObject({ identityAgent: 'none' });
    expect(await resolve({ alias: 'other' }, { env: { HOME: home, MY_AGENT: '/run/agent.sock' } })).toMatchObject({
      identityAgent: '/run/agent.sock',
    });
  });

  test('ForwardAgent with a socket of its own is refused, naming the option', async () => {
    const socket = path.join(home, 'other-agent.sock');
    writeFileSync(socket, '');
    config('Host dragon', `  ForwardAgent ${socket}`);
    await expect(resolve()).rejects.toThrow(`ForwardAgent ${socket} forwards another agent than the one nightshift uses`);
  });

  test('algorithm lists with +, - (patterns) and ^, against OpenSSH defaults', async () => {
    config(
      'Host dragon',
      '  KexAlgorithms +diffie-hellman-group14-sha1',
      '  Ciphers -*-gcm@openssh.com,chacha20*',
      '  MACs ^hmac-sha1',
      '  HostKeyAlgorithms ssh-ed25519,rsa-sha2-*',
      '  PubkeyAcceptedAlgorithms +ssh-rsa',
    );
    const { algorithms } = await resolve();
    expect(algorithms?.kex?.slice(-2)).toEqual(['diffie-hellman-group14-sha256', 'diffie-hellman-group14-sha1']);
    expect(algorithms?.cipher).toEqual(['aes128-ctr', 'aes192-ctr', 'aes256-ctr']);
    expect(algorithms?.mac?.[0]).toBe('hmac-sha1');
    expect(algorithms?.mac?.filter((mac) => mac === 'hmac-sha1')).toHaveLength(1);
    expect(algorithms?.hostKey).toEqual([
      'ssh-ed25519',
      'rsa-sha2-256',
      'rsa-sha2-256-cert-v01@openssh.com',
      'rsa-sha2-512',
      'rsa-sha2-512-cert-v01@openssh.com',
    ]);
    expect(algorithms?.pubkey?.at(-1)).toBe('ssh-rsa');
  });

  test('Include inside a Host block counts for that host only', async () => {
    const extra = path.join(home, 'extra.conf');
    writeFileSync(extra, 'Port 2022\nHost *\n  User everyone\n');
    config('Host dragon', `  Include ${extra}`, '  HostName 192.0.2.30', 'Host *', '  HostName fallback.example');
    expect(await resolve()).toMatchObject({ address: '192.0.2.30', port: 2022, user: 'everyone' });
    expect(await resolve({ alias: 'gate' })).toMatchObject({ address: 'fallback.example', port: 22, user: localUser() });
  });

  // ssh takes a relative Include from the passwd entry's ~/.ssh, not from a test's HOME: ssh -G gets the full path.
  test('Include is followed, relative to ~/.ssh, with wildcards', async () => {
    mkdirSync(path.join(home, '.ssh', 'config.d'));
    writeFileSync(path.join(home, '.ssh', 'config.d', '10-dragon.conf'), 'Host dragon\n  HostName 192.0.2.20\n');
    writeFileSync(path.join(home, '.ssh', 'config.d', '20-all.conf'), 'Host *\n  Port 2022\n');
    config(resolvedBy === 'ssh -G' ? `Include ${path.join(home, '.ssh', 'config.d')}/*.conf` : 'Include config.d/*.conf');
    expect(await resolve()).toMatchObject({ address: '192.0.2.20', port: 2022 });
  });

  test('a Port that is not a port number is an error naming the file', async () => {
    config('Host dragon', '  Port 99999');
    const error = await resolve().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SshConfigError);
    expect((error as Error).message).toContain(configFile);
    expect((error as Error).message).toContain(resolvedBy === 'ssh -G' ? "line 2: Bad port '99999'" : 'Port 99999 for dragon, which is not a port number');
  });
});

describe('resolveHost with and without ssh', () => {
  const resolve = (options: Partial<ResolveOptions> = {}) => resolveHost(spec(), { configFile, env: { HOME: home }, ...options });

  test('ssh on PATH answers; without it, nightshift reads the config itself', async () => {
    expect((await resolve()).resolvedBy).toBe('ssh -G');
    expect((await resolve({ env: { HOME: home, PATH: path.join(home, 'no-bin') } })).resolvedBy).toBe('own parser');
  });

  test('Match exec runs under ssh -G; the own parser refuses it, naming the line', async () => {
    config('Host gate', '  Port 2000', 'Match exec "test %n = dragon"', '  HostName 192.0.2.40');
    expect((await resolve()).address).toBe('192.0.2.40');
    expect((await resolveHost(spec({ alias: 'gate' }), { configFile, env: { HOME: home } })).address).toBe('gate');
    const error = await resolve({ sshBinary: null }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SshConfigError);
    expect((error as Error).message).toMatch(
      new RegExp(`^${configFile} line 3: Match exec "test %n = dragon": nightshift cannot tell whether Match exec matches`),
    );
    expect((error as Error).message).toContain('install the OpenSSH client (ssh)');
  });

  test('the own parser evaluates Match host and user, and refuses criteria it cannot evaluate', async () => {
    config('Match host dragon user root', '  Port 2001', 'Match originalhost dragon', '  User ops');
    expect(await resolve({ sshBinary: null })).toMatchObject({ port: localUser() === 'root' ? 2001 : 22, user: 'ops' });
    config('Host gate', 'Match localnetwork 10.0.0.0/8', '  Port 2002');
    await expect(resolve({ sshBinary: null })).rejects.toThrow(
      `${configFile} line 2: Match localnetwork 10.0.0.0/8: nightshift's own reading of the config does not evaluate Match localnetwork`,
    );
    config('Match !host dragon', '  Port 2003');
    await expect(resolve({ sshBinary: null })).rejects.toThrow('does not evaluate Match !host');
  });

  test('the own parser refuses an Include inside a Match block rather than applying it to every host', async () => {
    config('Match user root', `  Include ${path.join(home, 'x.conf')}`);
    await expect(resolve({ sshBinary: null })).rejects.toThrow(`${configFile} line 2: an Include inside a Match block`);
  });

  test("ssh's home is the passwd entry's: what ssh puts there comes under HOME", async () => {
    expect(await resolve()).toMatchObject({
      userKnownHostsFiles: [path.join(home, '.ssh', 'known_hosts'), path.join(home, '.ssh', 'known_hosts2')],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
    });
  });

  test("a config file other than ssh's own goes with -F; a missing one is an empty one", () => {
    expect(sshGArguments(spec({ address: '10.0.0.1%eth0', user: 'ops', port: 2222, identityFile: '~/k' }), configFile)).toEqual([
      '-G',
      '-F',
      '/dev/null',
      '-o',
      'HostName=10.0.0.1%%eth0',
      '-l',
      'ops',
      '-p',
      '2222',
      '-o',
      'IdentityFile=~/k',
      '--',
      'dragon',
    ]);
    config('Host dragon');
    expect(sshGArguments(spec(), configFile)).toEqual(['-G', '-F', configFile, '--', 'dragon']);
    expect(sshGArguments(spec(), path.join(userInfo().homedir, '.ssh', 'config'))).toEqual(['-G', '--', 'dragon']);
  });

  test("ssh -G failing is an error in ssh's own words, naming the file", async () => {
    const fake = path.join(home, 'fake-ssh');
    writeFileSync(fake, '#!/bin/sh\necho "boom: $*" >&2\nexit 255\n', { mode: 0o755 });
    await expect(resolve({ sshBinary: fake })).rejects.toThrow(
      `ssh could not read the ssh config /dev/null for dragon (alias dragon): boom: -G -F /dev/null -- dragon. Correct that file`,
    );
  });
});

describe('expandTokens', () => {
  test('%% is a percent sign; other letters come from the table', () => {
    expect(expandTokens('%h:%%:%h', { h: 'gw' }, 'X')).toBe('gw:%:gw');
  });
});
