// The site tunnel against OpenSSH's sshd as the site host. sshd runs on this machine, so
// what the tunnel listens on "there" is this machine's own socket table.
import { execFileSync } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { keepSiteTunnel, type SiteTunnel, type TunnelState } from '../../src/chat/site-tunnel.js';
import { LISTENING_SOCKETS_SCRIPT, listeningSockets } from '../../src/chat/tunnel-binding.js';
import type { HostPool } from '../../src/remote/host-pool.js';
import { describeWithSshd, freePort, type Sshd } from '../support/sshd.js';
import { makeHome, poolFor, removeHome } from '../support/ssh-pool.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

/** What listens on `port` on this machine (the site host here), from its own tables. */
function listeningOn(port: number): string[] {
  const table = execFileSync('/bin/sh', ['-c', LISTENING_SOCKETS_SCRIPT], { encoding: 'utf8' });
  return listeningSockets(table)
    .filter((socket) => socket.port === port)
    .map((socket) => socket.address);
}

function tryConnect(port: number): Promise<'refused' | string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let said = '';
    socket.on('data', (chunk: Buffer) => (said += chunk.toString('utf8')));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : error.message));
    socket.on('close', () => resolve(said));
  });
}

describeWithSshd('the site tunnel against OpenSSH sshd', () => {
  let endpoint: Server;
  let endpointPort: number;

  beforeAll(async () => {
    // Stands for the helper endpoint: says hello and hangs up.
    endpoint = createServer((socket) => socket.end('hello from the helper channel\n'));
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    endpointPort = (endpoint.address() as { port: number }).port;
  });
  afterAll(() => endpoint?.close());

  /** A tunnel to `sshd` with every state it went through. */
  async function tunnelTo(sshd: Sshd): Promise<{ tunnel: SiteTunnel; states: TunnelState[]; port: number; pool: HostPool; done(): Promise<void> }> {
    const home = makeHome();
    const pool = poolFor(sshd, { home });
    const port = await freePort();
    const states: TunnelState[] = [];
    const tunnel = keepSiteTunnel(pool, { host: 'dragon', remotePort: port, localPort: endpointPort, retryMs: 500, onChange: (state) => states.push(state) });
    return {
      tunnel,
      states,
      port,
      pool,
      async done() {
        await tunnel.close();
        await pool.close();
        removeHome(home);
      },
    };
  }

  describe('with GatewayPorts yes on the site host', () => {
    const host = withSshd({ extraConfig: ['GatewayPorts yes'] });

    test('the forward, which listens on every address, is closed, and the message says why', async () => {
      const { tunnel, states, port, done } = await tunnelTo(host.sshd);
      try {
        await waitFor(() => tunnel.state().state !== 'opening', { what: 'the tunnel to open or be refused', timeoutMs: 15_000 });
        const state = tunnel.state();
        expect(state.state).toBe('refused');
        if (state.state !== 'refused') return;
        console.log(state.error);
        expect(state.addresses).toContain(`0.0.0.0:${port}`);
        expect(state.error).toContain(`the tunnel on dragon was closed: port ${port} listens on 0.0.0.0:${port}`);
        expect(state.error).toContain('GatewayPorts');
        // Never open on the way, and nothing listens there any more.
        expect(states.map((s) => s.state)).toEqual(['refused']);
        expect(listeningOn(port)).toEqual([]);
        expect(await tryConnect(port)).toBe('refused');
        // It stays closed while the link lasts: not opened again every few seconds.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(states.map((s) => s.state)).toEqual(['refused']);
        // A new link is a new chance (its sshd could have been fixed): tried, and refused again.
        host.sshd.dropConnections();
        await waitFor(() => states.length >= 3, { what: 'a second try after the link dropped', timeoutMs: 30_000 });
        expect(states.map((s) => s.state)).toEqual(['refused', 'opening', 'refused']);
        expect(listeningOn(port)).toEqual([]);
      } finally {
        await done();
      }
    });
  });

  describe('with the default sshd', () => {
    const host = withSshd();

    test('the forward listens on 127.0.0.1 only and stays open', async () => {
      const { tunnel, states, port, done } = await tunnelTo(host.sshd);
      try {
        await waitFor(() => tunnel.state().state !== 'opening', { what: 'the tunnel to open', timeoutMs: 15_000 });
        expect(tunnel.state()).toMatchObject({ state: 'open', port });
        expect(listeningOn(port)).toEqual(['127.0.0.1']);
        expect(await tryConnect(port)).toBe('hello from the helper channel\n');
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(states.map((s) => s.state)).toEqual(['open']);
        expect(await tryConnect(port)).toBe('hello from the helper channel\n');
      } finally {
        await done();
      }
    });
  });
});
