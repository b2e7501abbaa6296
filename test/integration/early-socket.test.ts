// A login's TCP connection opened and its identification line sent before ssh2 has loaded
// (src/remote/early-socket.ts): the line goes out once, on a socket ssh2 then reads from where
// the server's answer waits; a connection that failed meanwhile is reported as ssh2 reports its
// own; the real sshd takes the login and names the client by that line.
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { EarlySocket } from '../../src/remote/early-socket.js';
import { poolFor, run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

const IDENT = 'SSH-2.0-nightshift\r\n';
const servers: net.Server[] = [];

afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A TCP server on 127.0.0.1 that says `greeting` to each connection and keeps what it is sent. */
async function listening(greeting: string): Promise<{ port: number; received: () => string }> {
  let received = '';
  const server = net.createServer((socket) => {
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.write(greeting);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, received: () => received };
}

it('sends the identification line at once, and once: the same line written again by ssh2 is dropped, what follows goes out', async () => {
  const server = await listening('SSH-2.0-server\r\n');
  const early = new EarlySocket('127.0.0.1', server.port);
  await waitFor(() => server.received() === IDENT, { what: 'the identification line at the server', timeoutMs: 5000 });
  const socket = early.take();
  if (!(socket instanceof net.Socket)) throw new Error(`no socket: ${String(socket)}`);
  try {
    // The server's answer came before anyone read: it waits on the socket.
    const answer = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    expect(answer).toBe('SSH-2.0-server\r\n');
    socket.write(Buffer.from(IDENT, 'latin1'));
    socket.write(Buffer.from(IDENT, 'latin1'));
    socket.write(Buffer.from('next packet', 'latin1'));
    await waitFor(() => server.received().endsWith('next packet'), { what: 'what follows the line', timeoutMs: 5000 });
    // The first write of the line was ssh2's own and is dropped; a later one is sent as it is.
    expect(server.received()).toBe(`${IDENT}${IDENT}next packet`);
    expect(early.take()).toBeUndefined();
  } finally {
    socket.destroy();
  }
});

it('a wrapper put on its write after it was taken stays after the first write (the packets reused wrap it so)', async () => {
  const server = await listening('SSH-2.0-server\r\n');
  const early = new EarlySocket('127.0.0.1', server.port);
  const socket = early.take();
  if (!(socket instanceof net.Socket)) throw new Error(`no socket: ${String(socket)}`);
  try {
    const seen: string[] = [];
    const write = socket.write;
    socket.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
      seen.push(String(chunk));
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof socket.write;
    socket.write(Buffer.from(IDENT, 'latin1'));
    socket.write(Buffer.from('next packet', 'latin1'));
    await waitFor(() => server.received().endsWith('next packet'), { what: 'what follows the line', timeoutMs: 5000 });
    expect(seen).toEqual([IDENT, 'next packet']);
    expect(server.received()).toBe(`${IDENT}next packet`);
  } finally {
    socket.destroy();
  }
});

it('hands over a connection still being made, with the line queued on it', async () => {
  const server = await listening('SSH-2.0-server\r\n');
  const early = new EarlySocket('127.0.0.1', server.port);
  const socket = early.take();
  if (!(socket instanceof net.Socket)) throw new Error(`no socket: ${String(socket)}`);
  try {
    expect(socket.connecting).toBe(true);
    socket.write(Buffer.from(IDENT, 'latin1'));
    socket.write(Buffer.from('after', 'latin1'));
    await waitFor(() => server.received() === `${IDENT}after`, { what: 'the line and what follows', timeoutMs: 5000 });
  } finally {
    socket.destroy();
  }
});

it('gives back what went wrong when the connection failed before ssh2 took it, marked as ssh2 marks its own', async () => {
  const server = await listening('');
  const { port } = server;
  await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));
  const early = new EarlySocket('127.0.0.1', port);
  await early.connectedOrAfter(2000);
  const outcome = early.take();
  expect(outcome).toBeInstanceOf(Error);
  expect(outcome).toMatchObject({ code: 'ECONNREFUSED', level: 'client-socket' });
});

it('closes a connection nobody took', async () => {
  let closed = false;
  const server = net.createServer((socket) => {
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => undefined);
    socket.resume();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const early = new EarlySocket('127.0.0.1', (server.address() as net.AddressInfo).port);
  await early.connectedOrAfter(2000);
  early.discard();
  await waitFor(() => closed, { what: 'the connection closed at the server', timeoutMs: 5000 });
  expect(early.take()).toBeUndefined();
});

describeWithSshd('a login over the connection opened ahead', () => {
  // At DEBUG1 sshd logs the client's identification line.
  const host = withSshd({ extraConfig: ['LogLevel DEBUG1'] }, { home: 'test' });

  it('is taken by OpenSSH, which names the client by the line sent once', async () => {
    const identLines = () =>
      host.sshd
        .log()
        .split('\n')
        .filter((line) => /remote software version/.test(line));
    const before = identLines().length;
    const pool = poolFor(host.sshd, { home: host.home });
    try {
      expect(await run(pool, 'echo logged in')).toMatchObject({ exitCode: 0, stdout: 'logged in\n' });
    } finally {
      await pool.close();
    }
    expect(identLines().slice(before)).toEqual([expect.stringMatching(/remote software version nightshift\s*$/)]);
    // The line twice would be read as the first packet's length.
    expect(host.sshd.log()).not.toMatch(/Bad packet length|invalid format|packet_disconnect/i);
  });
});
