// A TCP relay on 127.0.0.1 that the tests control, placed between a client and a server
// (usually sshd) to break links on purpose:
//
//   const relay = await TcpRelay.start(sshd.port);   // connect the client to relay.port
//   relay.cutAfterBytes(1_000_000, 'toServer');      // the link dies mid-transfer
//   relay.cut();                                     // or right now
//   relay.refuseNewWhile(() => existsSync(flag));    // new logins fail while a flag is up
//   relay.resetNext(3);                              // the next 3 connections are reset (RST)
//   relay.resetNewWhile(() => Date.now() < until);   // every new connection is reset for a while
//   relay.limitRate(2_000_000, 'toServer');          // a slow link: about 2 MB/s
//   const held = relay.holdNew();                    // new logins wait (accepted, not relayed)...
//   held.release();                                  // ...until let through, or held.drop(): closed
//   await relay.close();
//
// A cut destroys both sockets of every pair at once, so each end sees its connection end
// (not a silent, frozen route). New connections are relayed as before.
import { connect, createServer, type Server, type Socket } from 'node:net';

export type RelayDirection = 'toServer' | 'toClient';

interface RelayPair {
  client: Socket;
  server: Socket;
  /** holdReplies: the server's words, and its hanging up, never reach the client. */
  repliesHeld?: boolean;
}

interface PendingCut {
  direction: RelayDirection;
  /** Bytes still allowed through in that direction before the cut. */
  remaining: number;
}

export class TcpRelay {
  private readonly pairs = new Set<RelayPair>();
  private readonly counted: Record<RelayDirection, number> = { toServer: 0, toClient: 0 };
  private pendingCut: PendingCut | undefined;
  private rateLimit: { bytesPerSecond: number; direction: RelayDirection } | undefined;
  /** Between the last allowed byte and the cut: nothing more goes through. */
  private cutting = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    server.on('connection', (client) => this.relay(client));
  }

  static start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.removeListener('error', reject);
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        resolve(new TcpRelay(server, port, targetHost, targetPort));
      });
    });
  }

  /** Destroys every current connection, both ways. */
  cut(): void {
    this.pendingCut = undefined;
    for (const pair of [...this.pairs]) this.destroyPair(pair);
  }

  /** Cuts every connection once exactly `bytes` more bytes have passed in `direction` (over all connections). */
  cutAfterBytes(bytes: number, direction: RelayDirection = 'toServer'): void {
    if (bytes <= 0) return this.cut();
    this.pendingCut = { direction, remaining: bytes };
  }

  /** From now on nothing comes back to the current connections' clients, not even the server hanging up, while what they send still goes through. */
  holdReplies(): void {
    for (const pair of this.pairs) {
      pair.repliesHeld = true;
      pair.server.pause();
      // Else the client's own end would be answered by one from here, as if the server hung up.
      pair.client.allowHalfOpen = true;
    }
  }

  /** Lets at most about `bytesPerSecond` through in `direction` (each connection on its own), as a slow link. */
  limitRate(bytesPerSecond: number, direction: RelayDirection = 'toServer'): void {
    this.rateLimit = { bytesPerSecond, direction };
  }

  /** Connections open right now. */
  connections(): number {
    return this.pairs.size;
  }

  /** Bytes relayed since start, per direction. */
  bytes(): { toServer: number; toClient: number } {
    return { ...this.counted };
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * While `refused()` holds, new connections are closed at once (as a host whose change
   * broke new logins); connections already relayed go on.
   */
  refuseNewWhile(refused: () => boolean): void {
    this.refused = refused;
  }

  private refused: () => boolean = () => false;

  /** The next `count` new connections are reset (RST) as they arrive, as on a link that is down; later ones are relayed. */
  resetNext(count: number): void {
    let left = count;
    this.resetting = () => left-- > 0;
  }

  /** While `resetting()` holds, new connections are reset (RST) as they arrive; connections already relayed go on. */
  resetNewWhile(resetting: () => boolean): void {
    this.resetting = resetting;
  }

  private resetting: () => boolean = () => false;

  /** Connections reset so far (by resetNext or resetNewWhile). */
  resets = 0;

  /** New connections wait, accepted but not relayed (a login that takes its time), until released (relayed then) or dropped (closed). */
  holdNew(): { release(): void; drop(): void } {
    const held: Socket[] = [];
    this.holding = held;
    const stop = () => {
      if (this.holding === held) this.holding = undefined;
      return held.splice(0).filter((client) => !client.destroyed);
    };
    return {
      release: () => {
        for (const client of stop()) this.relay(client);
      },
      drop: () => {
        for (const client of stop()) client.destroy();
      },
    };
  }

  private holding: Socket[] | undefined;

  private relay(client: Socket): void {
    if (this.holding) {
      client.pause();
      this.holding.push(client);
      return;
    }
    if (this.resetting()) {
      this.resets++;
      client.resetAndDestroy();
      return;
    }
    if (this.refused()) {
      client.destroy();
      return;
    }
    const server = connect({ host: this.targetHost, port: this.targetPort });
    const pair: RelayPair = { client, server };
    this.pairs.add(pair);
    client.setNoDelay(true);
    server.setNoDelay(true);
    const end = () => this.destroyPair(pair);
    client.on('error', end).on('close', end);
    const serverGone = () => (pair.repliesHeld ? server.destroy() : end());
    server.on('error', serverGone).on('close', serverGone);
    this.pipe(pair, client, server, 'toServer');
    this.pipe(pair, server, client, 'toClient');
    // A held connection was paused; what its client sent meanwhile goes through now.
    client.resume();
  }

  private pipe(pair: RelayPair, from: Socket, to: Socket, direction: RelayDirection): void {
    from.on('data', (chunk: Buffer) => {
      if (this.cutting) return;
      const cut = this.pendingCut;
      if (cut?.direction === direction && chunk.length >= cut.remaining) {
        const allowed = chunk.subarray(0, cut.remaining);
        this.counted[direction] += allowed.length;
        this.pendingCut = undefined;
        this.cutting = true;
        // What is allowed still goes out before the sockets are destroyed.
        to.write(allowed, () => {
          this.cutting = false;
          this.cut();
        });
        return;
      }
      if (cut?.direction === direction) cut.remaining -= chunk.length;
      this.counted[direction] += chunk.length;
      const drained = to.write(chunk);
      const limit = this.rateLimit?.direction === direction ? this.rateLimit : undefined;
      if (drained && !limit) return;
      from.pause();
      const resume = () => (to.writableNeedDrain ? to.once('drain', () => from.resume()) : from.resume());
      // A chunk of n bytes holds the next one back for as long as n bytes take at the rate.
      if (limit) setTimeout(resume, (chunk.length / limit.bytesPerSecond) * 1000);
      else to.once('drain', () => from.resume());
    });
    // Half-close passes through: the other side may still answer.
    from.on('end', () => {
      if (this.pairs.has(pair) && !(direction === 'toClient' && pair.repliesHeld)) to.end();
    });
  }

  private destroyPair(pair: RelayPair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.server.destroy();
  }
}
