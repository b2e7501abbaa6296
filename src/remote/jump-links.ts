// The logged-in jump hosts under a connection: kept while it lives and closed with it; when
// one of them drops, the connection through it drops too, saying why.
import type { Client as SshClient } from 'ssh2';
import { ConnectionLostError } from './errors.js';
import type { ResolvedHost } from './types.js';

interface JumpLink {
  client: SshClient;
  host: ResolvedHost;
  lastError?: Error;
}

export class JumpLinks {
  private readonly links: JumpLink[] = [];
  private finished = false;

  /** Before the hop connects: ssh2 throws an 'error' nobody listens to. */
  add(client: SshClient, host: ResolvedHost): void {
    const link: JumpLink = { client, host };
    client.on('error', (error: Error) => {
      link.lastError = error;
    });
    this.links.push(link);
  }

  /** Ties the connection that runs through the hops to them (before it connects, to cover its login too). */
  carry(destination: SshClient): void {
    if (this.links.length === 0) return;
    for (const link of this.links) {
      link.client.once('close', () => {
        if (this.finished) return;
        this.finished = true;
        const why = link.lastError ? ` (${link.lastError.message})` : '';
        // Heard by the login (a ConnectError) or, once logged in, by Connection as the reason of the drop.
        destination.emit('error', new ConnectionLostError(`the link through the jump host ${link.host.name} dropped${why}`));
        destination.destroy();
        this.end();
      });
    }
    destination.once('close', () => {
      this.finished = true;
      this.end();
    });
  }

  destroy(): void {
    this.finished = true;
    for (const link of this.links) link.client.destroy();
  }

  private end(): void {
    for (const link of this.links) link.client.end();
  }
}
