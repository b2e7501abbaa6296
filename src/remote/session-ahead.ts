// A session channel opened before its command is known. ssh2's exec opens a channel and,
// once the server confirmed it, sends the exec request: two round trips before the command
// starts. A channel opened ahead (while the check's probe runs, or while a step runs) takes
// its exec request at once: one round trip. ssh2 has no call for either half, so these do
// what its exec does, with its channel table and protocol writer (lib/client.js, openChannel
// and reqExec in ssh2 1.17).
import type { ClientChannel, Client as SshClient } from 'ssh2';
import { requireSsh2Channel } from './ssh2-modules.js';

interface ClientInternals {
  _sock?: { writable?: boolean };
  _chanMgr: { add(wrapper: unknown): number; remove(local: number): void };
  _protocol: { session(local: number, window: number, packetSize: number): void };
}

interface ChannelInternals {
  outgoing: { id: number; state: string };
  _callbacks: Array<(failed: unknown) => void>;
  _client: { _protocol: { exec(remote: number, command: string, wantReply: boolean): void } };
  subtype?: string;
  allowHalfOpen: boolean;
}

/** Whether this ssh2 has the internals used here; checked once, so that a changed ssh2 only costs the round trip. */
function usable(client: SshClient): boolean {
  const internals = client as unknown as Partial<ClientInternals>;
  return typeof internals._chanMgr?.add === 'function' && typeof internals._protocol?.session === 'function';
}

/** Asks the server for a session channel; null when it refused one or the connection cannot open channels. */
export function openSession(client: SshClient): Promise<ClientChannel | null> {
  return new Promise((resolve) => {
    // As ssh2's exec: a socket that can no longer be written to is "Not connected".
    if (!usable(client) || (client as unknown as ClientInternals)._sock?.writable !== true) return resolve(null);
    const { MAX_WINDOW, PACKET_SIZE } = requireSsh2Channel() as { MAX_WINDOW: number; PACKET_SIZE: number };
    const internals = client as unknown as ClientInternals;
    const opened = (error: Error | undefined, channel: ClientChannel) => resolve(error ? null : channel);
    opened.type = 'session';
    const local = internals._chanMgr.add(opened);
    if (local === -1) return resolve(null);
    try {
      internals._protocol.session(local, MAX_WINDOW, PACKET_SIZE);
    } catch {
      // Not connected: the socket closed before the connection heard of it.
      internals._chanMgr.remove(local);
      resolve(null);
    }
  });
}

/**
 * Sends the exec request on a channel opened ahead; `started` is called as ssh2's exec calls
 * its callback. False when the channel is no longer open (nothing was sent).
 */
export function execOnSession(channel: ClientChannel, command: string, started: (error: Error | undefined, channel: ClientChannel) => void): boolean {
  const internals = channel as unknown as ChannelInternals;
  if (internals.outgoing?.state !== 'open' || !Array.isArray(internals._callbacks)) return false;
  internals._callbacks.push((failed) => {
    if (failed) {
      closeSession(channel);
      started(failed instanceof Error ? failed : new Error('Unable to exec'), channel);
      return;
    }
    internals.subtype = 'exec';
    internals.allowHalfOpen = true;
    started(undefined, channel);
  });
  internals._client._protocol.exec(internals.outgoing.id, command, true);
  return true;
}

/** Closes a channel opened ahead that nobody took; a connection that dropped meanwhile has closed it already. */
export function closeSession(channel: ClientChannel | null): void {
  try {
    channel?.close();
  } catch {
    // "Not connected": gone with its connection.
  }
}
