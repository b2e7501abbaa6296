// A reverse port forward (ssh -R): the host listens on remoteAddress:remotePort and each
// connection made there is piped to a new TCP connection to localHost:localPort here.
import { connect } from 'node:net';
import type { ClientChannel, TcpConnectionDetails } from 'ssh2';
import type { Connection } from './connection.js';
import { ConnectionLostError, isNotConnected } from './errors.js';

export interface RemoteForward {
  remoteAddress: string;
  /** The port the host listens on (the one it picked when 0 was asked). */
  remotePort: number;
  /** Stops listening on the host and ends the connections still open. */
  close(): Promise<void>;
}

export interface RemoteForwardOptions {
  /** Default 127.0.0.1: only the host itself can connect. */
  remoteAddress?: string;
  /** Default 0: the server picks a free port. */
  remotePort?: number;
  localHost: string;
  localPort: number;
}

/** Exposes localHost:localPort on the remote host's remoteAddress:remotePort (0 = the server picks) via ssh2 forwardIn. */
export async function forwardRemotePort(connection: Connection, options: RemoteForwardOptions): Promise<RemoteForward> {
  const remoteAddress = options.remoteAddress ?? '127.0.0.1';
  const remotePort = await listenOnHost(connection, remoteAddress, options.remotePort ?? 0);
  const { client } = connection;
  /** Each open pipe's way to end it (turning the channel away if it was not accepted yet). */
  const pipes = new Set<() => void>();
  let closed = false;

  const onTcpConnection = (details: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void) => {
    // Every forward on this connection hears every incoming connection; take only ours.
    if (details.destIP !== remoteAddress || details.destPort !== remotePort) return;
    if (closed) return reject();
    // Connect here first, so a refused local port shows there as a refused channel.
    const socket = connect({ host: options.localHost, port: options.localPort });
    let channel: ClientChannel | undefined;
    const end = () => {
      if (!pipes.delete(end)) return;
      socket.destroy();
      if (channel) channel.destroy();
      else reject();
    };
    pipes.add(end);
    socket.on('error', end).on('close', end);
    socket.once('connect', () => {
      if (closed) return end();
      channel = accept();
      socket.setNoDelay(true);
      channel.on('error', end).on('close', end);
      channel.pipe(socket);
      socket.pipe(channel);
    });
  };
  client.on('tcp connection', onTcpConnection);

  return {
    remoteAddress,
    remotePort,
    async close() {
      if (closed) return;
      closed = true;
      for (const end of [...pipes]) end();
      // Until the server confirms, connections may still arrive: the listener turns them away.
      if (connection.isAlive) await stopListeningOnHost(connection, remoteAddress, remotePort);
      client.removeListener('tcp connection', onTcpConnection);
    },
  };
}

function listenOnHost(connection: Connection, address: string, port: number): Promise<number> {
  const { host } = connection;
  const where = `${address}:${port === 0 ? '(any free port)' : port} on ${host.name}`;
  return new Promise((resolve, reject) => {
    const lost = () => new ConnectionLostError(`The connection to ${host.name} dropped before it could listen on ${where}.`);
    if (!connection.isAlive) return reject(lost());
    try {
      connection.client.forwardIn(address, port, (error, boundPort) => {
        if (!error) return resolve(boundPort);
        if (!connection.isAlive) return reject(lost());
        reject(new Error(`Could not listen on ${where}: the server refused the forward (is the port in use, or AllowTcpForwarding off in its sshd_config?).`));
      });
    } catch (error) {
      if (isNotConnected(error)) connection.markLost();
      reject(connection.isAlive ? error : lost());
    }
  });
}

/** Cancels the forward; a refusal or a link lost meanwhile leaves nothing to do. */
function stopListeningOnHost(connection: Connection, address: string, port: number): Promise<void> {
  return new Promise((resolve) => {
    try {
      connection.client.unforwardIn(address, port, () => resolve());
    } catch {
      resolve();
    }
  });
}
