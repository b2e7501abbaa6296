import { describe, expect, test } from 'vitest';
import type { HostSpec } from '../runbook/types.js';
import { parseProxyJump, resolveJumpHosts, type JumpContext } from './proxy-jump.js';
import { SshConfigError } from './ssh-config.js';
import type { ResolvedHost } from './types.js';

describe('parseProxyJump', () => {
  test('hops as ssh -J takes them', () => {
    expect(parseProxyJump('bastion, root@gate:2222,ssh://ops@[2001:db8::1]:22', 'dragon')).toEqual([
      { text: 'bastion', host: 'bastion' },
      { text: 'root@gate:2222', host: 'gate', user: 'root', port: 2222 },
      { text: 'ssh://ops@[2001:db8::1]:22', host: '2001:db8::1', user: 'ops', port: 22 },
    ]);
  });

  test('a hop that is not [user@]host[:port] is an error naming it', () => {
    expect(() => parseProxyJump('bastion,,gate', 'dragon')).toThrow(SshConfigError);
    expect(() => parseProxyJump('gate:99999', 'dragon')).toThrow(
      "The jump hosts of dragon (gate:99999) include 'gate:99999', which is not a runbook host or [user@]host[:port]; " +
        'write them as for ssh -J, separated by commas.',
    );
  });
});

/** Resolution as resolveHost would do it without a config file, and ssh config ProxyJumps given by alias. */
function context(hosts: Record<string, Partial<HostSpec>>, configJumps: Record<string, string> = {}): JumpContext {
  const specs = Object.fromEntries(Object.entries(hosts).map(([name, spec]) => [name, { name, alias: name, ...spec }]));
  return {
    hosts: specs,
    resolve: async (spec): Promise<ResolvedHost> => {
      const proxyJump = spec.proxyJump ?? configJumps[spec.alias];
      return {
        name: spec.name,
        address: spec.address ?? spec.alias,
        port: spec.port ?? 22,
        user: spec.user ?? 'me',
        identityFiles: spec.identityFile ? [spec.identityFile] : [],
        ...(proxyJump !== undefined ? { proxyJump } : {}),
      };
    },
  };
}

const dragon = (proxyJump?: string): ResolvedHost => ({
  name: 'dragon',
  address: '192.0.2.7',
  port: 22,
  user: 'root',
  identityFiles: [],
  ...(proxyJump !== undefined ? { proxyJump } : {}),
});

describe('resolveJumpHosts', () => {
  test('no jump hosts: a direct connection', async () => {
    expect(await resolveJumpHosts(dragon(), context({}))).toEqual([]);
  });

  test('a runbook host brings its own settings and declared keys; user and port written in the hop win', async () => {
    const keys = [{ fingerprint: 'SHA256:x' }];
    const route = await resolveJumpHosts(
      dragon('ops@bastion:2200,gate'),
      context({ bastion: { address: '198.51.100.1', user: 'admin', port: 2222, hostKeys: keys } }),
    );
    expect(route).toEqual([
      { host: { name: 'bastion', address: '198.51.100.1', port: 2200, user: 'ops', identityFiles: [] }, declaredKeys: keys },
      { host: { name: 'gate', address: 'gate', port: 22, user: 'me', identityFiles: [], proxyJump: 'ops@bastion:2200' } },
    ]);
  });

  test("the first hop's own jump hosts are followed, as ssh reaches it with its own config", async () => {
    const route = await resolveJumpHosts(dragon('bastion'), context({ bastion: { proxyJump: 'outer' } }, { outer: 'root@edge:2222' }));
    expect(route.map((stop) => `${stop.host.user}@${stop.host.name}:${stop.host.port}`)).toEqual(['root@edge:2222', 'me@outer:22', 'me@bastion:22']);
  });

  test('for ProxyJump a,b, b is reached through a (its own jump hosts replaced, as ssh -J a does) and a through its own', async () => {
    const route = await resolveJumpHosts(dragon('a,b'), context({ a: {}, b: { proxyJump: 'never' } }, { a: 'c', b: 'never-either', c: 'ops@d' }));
    expect(route.map((stop) => stop.host.name)).toEqual(['d', 'c', 'a', 'b']);
    expect(route.map((stop) => stop.host.proxyJump)).toEqual([undefined, 'ops@d', 'c', 'a']);
  });

  test('three hops: each is reached through the ones before it', async () => {
    const route = await resolveJumpHosts(dragon('a,ops@b:2200,c'), context({}, { b: 'x', c: 'y' }));
    expect(route.map((stop) => [stop.host.name, stop.host.user, stop.host.port, stop.host.proxyJump])).toEqual([
      ['a', 'me', 22, undefined],
      ['b', 'ops', 2200, 'a'],
      ['c', 'me', 22, 'a,ops@b:2200'],
    ]);
  });

  test('jump hosts that lead round in a circle through their own ProxyJump are refused', async () => {
    await expect(resolveJumpHosts(dragon('a'), context({}, { a: 'b', b: 'c', c: 'a' }))).rejects.toThrow(
      'The jump hosts go round in a circle: a jumps through b jumps through c jumps through a. ',
    );
  });

  test('a chain through the destination itself is a cycle', async () => {
    await expect(resolveJumpHosts(dragon('bastion,dragon'), context({ bastion: {} }))).rejects.toThrow(
      'The jump hosts of dragon (bastion,dragon) lead back to dragon itself: a cycle. Remove dragon from its proxy_jump (or ProxyJump in the ssh config).',
    );
  });

  test('two hosts that jump through each other are a cycle, from the runbook or the ssh config', async () => {
    const message =
      'dragon jumps through bastion, and bastion jumps through dragon: a cycle. ' +
      'One of them must be reachable without the other; remove the proxy_jump (or ProxyJump) of one.';
    await expect(resolveJumpHosts(dragon('bastion'), context({ bastion: { proxyJump: 'root@dragon' } }))).rejects.toThrow(message);
    await expect(resolveJumpHosts(dragon('bastion'), context({}, { bastion: 'dragon:22' }))).rejects.toThrow(message);
  });

  test('a hop named twice is refused', async () => {
    await expect(resolveJumpHosts(dragon('bastion,root@bastion'), context({}))).rejects.toThrow(
      'The jump hosts of dragon (bastion,root@bastion) name bastion twice: a cycle. Name each jump host once.',
    );
  });
});
