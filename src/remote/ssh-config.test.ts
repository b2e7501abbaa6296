import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { HostSpec } from '../runbook/types.js';
import { expandTokens, localUser, resolveHost, SshConfigError } from './ssh-config.js';

let home: string;
let configFile: string;

beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), 'ns-sshcfg-'));
  configFile = path.join(home, '.ssh', 'config');
  mkdirSync(path.dirname(configFile));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const spec = (fields: Partial<HostSpec> = {}): HostSpec => ({ name: 'dragon', alias: 'dragon', ...fields });
const resolve = (fields: Partial<HostSpec> = {}) => resolveHost(spec(fields), { configFile, env: { HOME: home } });
const config = (...lines: string[]) => writeFileSync(configFile, `${lines.join('\n')}\n`);

describe('resolveHost', () => {
  test('without a config file: the alias on port 22 as the current user', async () => {
    expect(await resolve()).toEqual({ name: 'dragon', address: 'dragon', port: 22, user: localUser(), identityFiles: [] });
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
    expect(await resolve()).toEqual({
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
    expect(
      await resolve({ alias: 'dragon-old', address: '198.51.100.7', port: 22, user: 'root', identityFile: '~/keys/runbook_key' }),
    ).toEqual({
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
    await expect(resolve()).rejects.toThrow('IdentityFile ~/k/%Z uses %Z, which nightshift does not expand.');
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

  test('ProxyCommand is refused with a plain error instead of being ignored', async () => {
    config('Host dragon', '  ProxyCommand ssh -W %h:%p bastion');
    const error = await resolve().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SshConfigError);
    expect((error as Error).message).toBe(
      `${configFile} sets ProxyCommand ssh -W %h:%p bastion for dragon (host dragon), which nightshift does not support ` +
        '(it goes through jump hosts with ProxyJump only); rather than silently connecting directly, it stops here: ' +
        'use ProxyJump (or proxy_jump in the runbook) instead, or give the host a different alias in the runbook.',
    );
  });

  test('Include is followed, relative to ~/.ssh, with wildcards', async () => {
    mkdirSync(path.join(home, '.ssh', 'config.d'));
    writeFileSync(path.join(home, '.ssh', 'config.d', '10-dragon.conf'), 'Host dragon\n  HostName 192.0.2.20\n');
    writeFileSync(path.join(home, '.ssh', 'config.d', '20-all.conf'), 'Host *\n  Port 2022\n');
    config('Include config.d/*.conf');
    expect(await resolve()).toMatchObject({ address: '192.0.2.20', port: 2022 });
  });

  test('a Port that is not a port number is an error', async () => {
    config('Host dragon', '  Port ssh');
    await expect(resolve()).rejects.toThrow(`${configFile} sets Port ssh for dragon, which is not a port number (1-65535).`);
  });
});

describe('expandTokens', () => {
  test('%% is a percent sign; other letters come from the table', () => {
    expect(expandTokens('%h:%%:%h', { h: 'gw' }, 'X')).toBe('gw:%:gw');
  });
});
