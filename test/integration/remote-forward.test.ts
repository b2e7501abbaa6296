// Reverse port forwards against the real OpenSSH sshd. sshd runs on this machine, so the
// "remote" port it opens is reached at 127.0.0.1 here.
import { connect, createServer, type Server } from 'node:net';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { Connection } from '../../src/remote/connection.js';
import { forwardRemotePort, type RemoteForward } from '../../src/remote/forward.js';
import { describeWithSshd } from '../support/sshd.js';
import { openTestConnection } from '../support/ssh-pool.js';
import { withSshd } from '../support/with-sshd.js';

/** Echoes what it receives; a connection that sends "die" is destroyed on the spot. */
async function startEchoServer(): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('die')) socket.destroy();
      else socket.write(chunk);
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, accepted: () => accepted };
}

/** Connects to the forwarded port, sends `payload`, half-closes, and returns everything echoed until the end. */
function roundTrip(port: number, payload: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => resolve(Buffer.concat(received)));
    socket.on('connect', () => socket.end(payload));
  });
}

/** How a connection attempt to the port ended: refused, closed without an answer, answered, or left hanging. */
function tryConnect(port: number): Promise<'refused' | 'closed' | 'answered' | 'hanging'> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    setTimeout(() => {
      socket.destroy();
      resolve('hanging');
    }, 3000).unref();
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : 'closed'));
    socket.on('connect', () => socket.write('ping\n'));
    socket.on('data', () => {
      socket.destroy();
      resolve('answered');
    });
    socket.on('close', () => resolve('closed'));
  });
}

describeWithSshd('reverse port forwards against OpenSSH sshd', () => {
  const host = withSshd({}, { home: 'test' });
  let connection: Connection;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let forwards: RemoteForward[];

  beforeEach(async () => {
    connection = await openTestConnection(host.sshd, host.home);
    echo = await startEchoServer();
    forwards = [];
  });
  afterEach(async () => {
    await Promise.all(forwards.map((forward) => forward.close()));
    await connection.close();
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  });

  async function forward(options: Partial<Parameters<typeof forwardRemotePort>[1]> = {}): Promise<RemoteForward> {
    const opened = await forwardRemotePort(connection, { localHost: '127.0.0.1', localPort: echo.port, ...options });
    forwards.push(opened);
    return opened;
  }

  test('a local echo server exposed on the remote 127.0.0.1:0 answers there', async () => {
    const exposed = await forward();
    expect(exposed.remoteAddress).toBe('127.0.0.1');
    expect(exposed.remotePort).toBeGreaterThan(0);
    expect(exposed.remotePort).not.toBe(echo.port);
    expect((await roundTrip(exposed.remotePort, 'hello through the tunnel\n')).toString()).toBe('hello through the tunnel\n');
    expect(echo.accepted()).toBe(1);
  });

  test('several connections at once each get their own bytes back', async () => {
    const exposed = await forward();
    const payloads = Array.from({ length: 6 }, (_, index) => Buffer.alloc(index === 0 ? 2 * 1024 * 1024 : 10_000 * (index + 1), `c${index}-`));
    const echoed = await Promise.all(payloads.map((payload) => roundTrip(exposed.remotePort, payload)));
    echoed.forEach((received, index) => expect(received.equals(payloads[index]!), `connection ${index}`).toBe(true));
    expect(echo.accepted()).toBe(6);
  });

  test('one connection failing does not end the forward', async () => {
    const exposed = await forward();
    // The local side drops this one mid-way ...
    const dropped = await roundTrip(exposed.remotePort, 'die\n').catch(() => Buffer.alloc(0));
    expect(dropped.toString()).toBe('');
    // ... and a local port that refuses closes the remote connection, nothing more.
    const refusing = await forward({ localPort: 1 });
    expect(await tryConnect(refusing.remotePort)).toBe('closed');
    expect((await roundTrip(exposed.remotePort, 'still here\n')).toString()).toBe('still here\n');
  });

  test('close() stops listening on the host and ends the open connections', async () => {
    const exposed = await forward();
    const open = connect({ host: '127.0.0.1', port: exposed.remotePort });
    const openEnded = new Promise<void>((resolve) => open.on('close', () => resolve()));
    open.on('error', () => {});
    await new Promise<void>((resolve) => open.once('data', () => resolve()).write('are you there\n'));

    await exposed.close();
    await openEnded;
    expect(await tryConnect(exposed.remotePort)).toBe('refused');
    await exposed.close(); // a second close is harmless
    expect(connection.isAlive).toBe(true);
  });

  test('a fixed remote port is used as asked, and a port already taken is a plain error', async () => {
    const exposed = await forward();
    const again = forwardRemotePort(connection, { localHost: '127.0.0.1', localPort: echo.port, remotePort: exposed.remotePort });
    await expect(again).rejects.toThrow(`Could not listen on 127.0.0.1:${exposed.remotePort} on dragon`);
    await exposed.close();
    const fixed = await forward({ remotePort: exposed.remotePort });
    expect(fixed.remotePort).toBe(exposed.remotePort);
    expect((await roundTrip(fixed.remotePort, 'fixed\n')).toString()).toBe('fixed\n');
  });
});
