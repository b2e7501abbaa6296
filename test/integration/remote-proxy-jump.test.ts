// ProxyJump against two real sshd: a "bastion" and a "target" behind it. Both listen on
// 127.0.0.1, so the test checks the bastion's log for the forward it made: the target was
// reached through the bastion, not directly.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import { ConnectError, HostKeyMismatchError, HostKeyNotDeclaredError } from '../../src/remote/errors.js';
import { HostPool } from '../../src/remote/host-pool.js';
import { SshConfigError } from '../../src/remote/ssh-config.js';
import type { ConnectionState } from '../../src/remote/types.js';
import type { HostSpec } from '../../src/runbook/types.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { generateKeyPair, type KeyPair } from '../support/ssh-keys.js';
import { makeHome, removeHome, run, scriptedInteraction, type ScriptedInteraction } from '../support/ssh-pool.js';

type HostFields = Omit<HostSpec, 'name' | 'alias'> & { alias?: string };

describeWithSshd('ProxyJump through a bastion sshd', () => {
  let bastion: Sshd;
  let target: Sshd;
  let stranger: KeyPair;
  let home: string;
  let knownHosts: string;
  let interaction: ScriptedInteraction;
  const pools: HostPool[] = [];

  beforeAll(async () => {
    // sshd logs the forwards it opens (direct-tcpip) at DEBUG1 only; extra lines go first and win.
    bastion = await Sshd.start({ extraConfig: ['LogLevel DEBUG1'] });
    target = await Sshd.start();
    stranger = await generateKeyPair(target.dir, 'stranger_host_key');
  });
  afterAll(async () => {
    await bastion?.stop();
    await target?.stop();
  });
  beforeEach(() => {
    home = makeHome();
    knownHosts = path.join(home, '.ssh', 'known_hosts');
    mkdirSync(path.dirname(knownHosts), { recursive: true });
    interaction = scriptedInteraction({ acceptHostKey: false });
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
    removeHome(home);
  });

  function pool(hosts: Record<string, HostFields>, options: { readyTimeoutMs?: number } = {}): HostPool {
    const specs = Object.fromEntries(Object.entries(hosts).map(([name, fields]) => [name, { name, alias: name, ...fields }]));
    const created = new HostPool(specs, {
      sshConfigFile: path.join(home, '.ssh', 'config'),
      knownHostsFiles: [knownHosts],
      env: { HOME: home },
      readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
      keepaliveIntervalMs: 1000,
      interaction,
    });
    pools.push(created);
    return created;
  }

  const bastionHost = (fields: Partial<HostFields> = {}): HostFields => ({
    address: bastion.address,
    port: bastion.port,
    user: bastion.user,
    identityFile: bastion.clientKey.privateKeyFile,
    ...fields,
  });
  const dragonHost = (fields: Partial<HostFields> = {}): HostFields => ({
    address: target.address,
    port: target.port,
    user: target.user,
    identityFile: target.clientKey.privateKeyFile,
    ...fields,
  });

  function writeKnownHosts(...lines: string[]): void {
    writeFileSync(knownHosts, lines.map((line) => `${line}\n`).join(''));
  }

  /** The bastion's log since `from`: did it open a forward to the target? */
  function forwardedToTarget(from: number): boolean {
    const log = bastion.log().slice(from);
    return log.includes('direct-tcpip') && log.includes(`target 127.0.0.1 port ${target.port}`);
  }

  function waitForState(hosts: HostPool, host: string, wanted: (state: ConnectionState) => boolean, timeoutMs = 10_000) {
    return new Promise<ConnectionState>((resolve, reject) => {
      const check = () => {
        const state = hosts.state(host);
        if (!wanted(state)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(state);
      };
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`${host} stayed ${JSON.stringify(hosts.state(host))}`));
      }, timeoutMs);
      const unsubscribe = hosts.subscribe(check);
      check();
    });
  }

  test('through a runbook host: each hop is checked under its own name and address:port', async () => {
    writeKnownHosts(target.knownHostsLine());
    interaction = scriptedInteraction({ acceptHostKey: true });
    const from = bastion.log().length;
    const hosts = pool({ bastion: bastionHost(), dragon: dragonHost({ proxyJump: 'bastion' }) });
    expect((await run(hosts, 'echo behind the bastion', 'dragon')).stdout).toBe('behind the bastion\n');
    expect(forwardedToTarget(from)).toBe(true);

    // Only the bastion was unknown, and it was asked about (and recorded) as itself.
    expect(interaction.hostKeyQuestions).toEqual([
      { host: 'bastion', address: '127.0.0.1', port: bastion.port, keyType: 'ssh-ed25519', fingerprint: bastion.hostKey().fingerprint },
    ]);
    expect(readFileSync(knownHosts, 'utf8')).toBe(`${target.knownHostsLine()}\n${bastion.knownHostsLine()}\n`);
    // The state published is the target's; the bastion as a host of its own was never used.
    expect(hosts.state('dragon').state).toBe('connected');
    expect(hosts.state('bastion').state).toBe('idle');

    // The hop's connection ends with the target's.
    await hosts.close();
    await expect.poll(() => bastion.log().slice(from).includes('Disconnected from user'), { timeout: 5000 }).toBe(true);
  });

  test('through [user@]host:port, resolved like any alias', async () => {
    writeKnownHosts(bastion.knownHostsLine(), target.knownHostsLine());
    copyFileSync(bastion.clientKey.privateKeyFile, path.join(home, '.ssh', 'id_ed25519'));
    const from = bastion.log().length;
    const hosts = pool({ dragon: dragonHost({ proxyJump: `${bastion.user}@127.0.0.1:${bastion.port}` }) });
    expect((await run(hosts, 'echo by address', 'dragon')).stdout).toBe('by address\n');
    expect(forwardedToTarget(from)).toBe(true);
  });

  test('through two hops, comma-separated: the second is reached over the first', async () => {
    writeKnownHosts(bastion.knownHostsLine(), target.knownHostsLine());
    copyFileSync(bastion.clientKey.privateKeyFile, path.join(home, '.ssh', 'id_ed25519'));
    const from = bastion.log().length;
    // The bastion twice, once by name and once by address: it forwards to itself, then to the target.
    const hosts = pool({ bastion: bastionHost(), dragon: dragonHost({ proxyJump: `bastion,127.0.0.1:${bastion.port}` }) });
    expect((await run(hosts, 'echo two hops', 'dragon')).stdout).toBe('two hops\n');
    const log = bastion.log().slice(from);
    expect(log).toContain(`target 127.0.0.1 port ${bastion.port}`);
    expect(log).toContain(`target 127.0.0.1 port ${target.port}`);
  });

  test('through ProxyJump in ~/.ssh/config', async () => {
    writeKnownHosts(bastion.knownHostsLine(), target.knownHostsLine());
    writeFileSync(
      path.join(home, '.ssh', 'config'),
      [
        'Host gateway',
        `  HostName ${target.address}`,
        `  Port ${target.port}`,
        '  ProxyJump jump',
        'Host jump',
        `  HostName ${bastion.address}`,
        `  Port ${bastion.port}`,
        `  User ${bastion.user}`,
        `  IdentityFile ${bastion.clientKey.privateKeyFile}`,
        '',
      ].join('\n'),
    );
    const from = bastion.log().length;
    const hosts = pool({ dragon: { alias: 'gateway', user: target.user, identityFile: target.clientKey.privateKeyFile } });
    expect((await run(hosts, 'echo configured', 'dragon')).stdout).toBe('configured\n');
    expect(forwardedToTarget(from)).toBe(true);
  });

  test("the bastion's declared keys apply to it as a hop, known_hosts to the target", async () => {
    writeKnownHosts(target.knownHostsLine());
    const hosts = pool({
      bastion: bastionHost({ hostKeys: [{ fingerprint: bastion.hostKey().fingerprint }] }),
      dragon: dragonHost({ proxyJump: 'bastion' }),
    });
    await hosts.connect('dragon');
    expect(interaction.hostKeyQuestions).toEqual([]);

    const wrong = pool({
      bastion: bastionHost({ hostKeys: [{ fingerprint: stranger.fingerprint }] }),
      dragon: dragonHost({ proxyJump: 'bastion' }),
    });
    const error = await wrong.connect('dragon').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyNotDeclaredError);
    expect((error as HostKeyNotDeclaredError).received).toMatchObject({ host: 'bastion', port: bastion.port });
  });

  test('a wrong key recorded for the bastion refuses the connection, naming the bastion', async () => {
    writeKnownHosts(`[127.0.0.1]:${bastion.port} ${stranger.publicKey}`, target.knownHostsLine());
    const from = bastion.log().length;
    const hosts = pool({ bastion: bastionHost(), dragon: dragonHost({ proxyJump: 'bastion' }) });
    const error = await hosts.connect('dragon').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect((error as Error).message).toMatch(
      new RegExp(`^The host key of bastion \\(127\\.0\\.0\\.1:${bastion.port}\\) does not match: known_hosts has ${escape(stranger.fingerprint)} `),
    );
    expect(hosts.state('dragon')).toMatchObject({ state: 'failed', error: (error as Error).message });
    expect(forwardedToTarget(from)).toBe(false);
  });

  test('a wrong key for the target behind a correct bastion is refused, naming the target', async () => {
    writeKnownHosts(bastion.knownHostsLine(), `[127.0.0.1]:${target.port} ${stranger.publicKey}`);
    const hosts = pool({ bastion: bastionHost(), dragon: dragonHost({ proxyJump: 'bastion' }) });
    const error = await hosts.connect('dragon').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect((error as HostKeyMismatchError).received).toEqual({
      host: 'dragon',
      address: '127.0.0.1',
      port: target.port,
      keyType: 'ssh-ed25519',
      fingerprint: target.hostKey().fingerprint,
    });
    expect((error as Error).message).toContain(`ssh-keygen -R '[127.0.0.1]:${target.port}'`);
  });

  test('a cycle is refused before anything connects', async () => {
    const from = bastion.log().length;
    const hosts = pool({ bastion: bastionHost({ proxyJump: 'dragon' }), dragon: dragonHost({ proxyJump: 'bastion' }) });
    const error = await hosts.connect('dragon').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SshConfigError);
    expect((error as Error).message).toBe(
      'dragon jumps through bastion, and bastion jumps through dragon: a cycle. ' +
        'One of them must be reachable without the other; remove the proxy_jump (or ProxyJump) of one.',
    );
    await expect(hosts.connect('bastion')).rejects.toThrow('bastion jumps through dragon, and dragon jumps through bastion: a cycle.');
    expect(bastion.log().slice(from)).not.toContain('Connection from');
  });

  test('killing the bastion drops the target connection; the pool publishes the drop and can win it back', async () => {
    writeKnownHosts(bastion.knownHostsLine(), target.knownHostsLine());
    const hosts = pool({ bastion: bastionHost(), dragon: dragonHost({ proxyJump: 'bastion' }) });
    await hosts.connect('dragon');
    bastion.dropConnections();
    const dropped = await waitForState(hosts, 'dragon', (state) => state.state === 'failed');
    expect(dropped).toMatchObject({ error: expect.stringContaining('the link through the jump host bastion dropped') });

    await hosts.regain('dragon');
    expect(hosts.state('dragon').state).toBe('connected');
    expect((await run(hosts, 'echo back', 'dragon')).stdout).toBe('back\n');
  });

  test("the target's sshd ending the connection drops it at once, though the bastion's link lives on", async () => {
    writeKnownHosts(bastion.knownHostsLine(), target.knownHostsLine());
    const hosts = pool({ bastion: bastionHost(), dragon: dragonHost({ proxyJump: 'bastion' }) });
    await hosts.connect('dragon');
    // The bastion passes the end on as the forwarded channel's end; nothing is written after it.
    target.dropConnections();
    expect(await waitForState(hosts, 'dragon', (state) => state.state === 'failed', 5000)).toMatchObject({ state: 'failed' });
    await hosts.regain('dragon');
    expect((await run(hosts, 'echo back', 'dragon')).stdout).toBe('back\n');
  });

  test('the bastion that cannot reach the target: a plain error naming both', async () => {
    writeKnownHosts(bastion.knownHostsLine());
    const closedPort = await unusedPort();
    const hosts = pool({ bastion: bastionHost(), dragon: dragonHost({ port: closedPort, proxyJump: 'bastion' }) });
    const error = await hosts.connect('dragon').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toMatch(
      new RegExp(`^Could not connect to dragon at 127\\.0\\.0\\.1:${closedPort}: the jump host bastion could not open a connection to it \\(.+\\)\\. `),
    );
  });

  test('hop logins count against the same ready timeout', async () => {
    const silent = await silentServer();
    try {
      const hosts = pool({ bastion: bastionHost({ port: silent.port }), dragon: dragonHost({ proxyJump: 'bastion' }) }, { readyTimeoutMs: 600 });
      const started = Date.now();
      const error = await hosts.connect('dragon').catch((caught: unknown) => caught);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as Error).message).toBe(
        `Could not connect to bastion at 127.0.0.1:${silent.port} (jump host for dragon): no SSH login within 0.6 s ` +
          '(TCP connect, handshake and login, jump hosts included). Check that the machine is up and reachable.',
      );
    } finally {
      await new Promise((resolve) => silent.server.close(resolve));
    }
  });
});

function escape(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Accepts TCP connections and never says a word: a login through it can only time out. */
async function silentServer(): Promise<{ server: Server; port: number }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  server.on('close', () => sockets.forEach((socket) => socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const close = server.close.bind(server);
  server.close = ((callback?: (error?: Error) => void) => {
    sockets.forEach((socket) => socket.destroy());
    return close(callback);
  }) as Server['close'];
  return { server, port };
}

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
