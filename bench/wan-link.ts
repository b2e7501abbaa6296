// A long, thin link between a client and a server on 127.0.0.1, for the WAN figures: each
// direction delays every byte by half the round trip and lets it through no faster than the
// link's rate, behind a queue of netem's default size (1,000 full packets). A cut makes the
// link silent (nothing passes, nothing is refused: connections and logins hang, as over a
// dead route) until it is restored.
//
// It stands in for `tc qdisc ... netem delay ... rate ...` where the kernel has no netem
// (sch_netem is a module many kernels, this one among them, do not carry). Being a relay of
// TCP streams, it cannot lose single packets: what it shows is the link's round trips and
// bandwidth-delay product, which is what the programs compared differ in; TCP's own
// recovery from loss would weigh on both alike.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface WanLinkOptions {
  /** Round-trip time added by the link, in milliseconds. */
  rttMs: number;
  /** The link's rate in each direction, in bits per second. */
  bitsPerSecond: number;
  targetPort: number;
}

const QUEUE_BYTES = 1000 * 1514;

interface InFlight {
  chunk: Buffer;
  arrivesAt: number;
}

/** One direction of one connection: bytes wait for their turn on the wire, then for the delay. */
class Direction {
  private readonly inFlight: InFlight[] = [];
  /** When the wire is free again for this direction's next byte. */
  private wireFreeAt = 0;
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly link: WanLink,
    private readonly from: Socket,
    private readonly to: Socket,
  ) {
    from.on('data', (chunk: Buffer) => this.take(chunk));
    from.on('end', () => {
      this.ended = true;
      this.deliver();
    });
  }

  private take(chunk: Buffer): void {
    const now = performance.now();
    this.wireFreeAt = Math.max(this.wireFreeAt, now) + ((chunk.length * 8) / this.link.bitsPerSecond) * 1000;
    this.inFlight.push({ chunk, arrivesAt: this.wireFreeAt + this.link.rttMs / 2 });
    this.queued += chunk.length;
    if (this.queued > QUEUE_BYTES) this.from.pause();
    this.deliver();
  }

  /** Writes what has arrived, then waits for the next arrival (or for the cut to end). */
  deliver(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.link.isCut()) return;
    const now = performance.now();
    while (this.inFlight.length > 0 && this.inFlight[0]!.arrivesAt <= now) {
      const { chunk } = this.inFlight.shift()!;
      this.queued -= chunk.length;
      this.to.write(chunk);
    }
    if (this.queued <= QUEUE_BYTES && this.from.isPaused()) this.from.resume();
    const next = this.inFlight[0];
    if (next) this.timer = setTimeout(() => this.deliver(), Math.max(0, next.arrivesAt - now));
    else if (this.ended) this.to.end();
  }

  /** After a cut, what was sent into the silence arrives one delay after the link is back, as if resent then. */
  restore(): void {
    const earliest = performance.now() + this.link.rttMs / 2;
    for (const item of this.inFlight) item.arrivesAt = Math.max(item.arrivesAt, earliest);
    this.wireFreeAt = Math.max(this.wireFreeAt, performance.now());
    this.deliver();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

export class WanLink {
  readonly rttMs: number;
  readonly bitsPerSecond: number;
  private readonly directions = new Set<Direction>();
  private readonly sockets = new Set<Socket>();
  private cutSince: number | null = null;
  /** When each connection was opened, in performance.now() milliseconds. */
  readonly openedAt: number[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    options: WanLinkOptions,
  ) {
    this.rttMs = options.rttMs;
    this.bitsPerSecond = options.bitsPerSecond;
    server.on('connection', (client) => this.relay(client, options.targetPort));
  }

  static start(options: WanLinkOptions): Promise<WanLink> {
    return new Promise((resolve, reject) => {
      // Half-open: an end is passed on only once what came before it has crossed the link.
      const server = createServer({ allowHalfOpen: true });
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.removeListener('error', reject);
        const address = server.address();
        resolve(new WanLink(server, typeof address === 'object' && address ? address.port : 0, options));
      });
    });
  }

  isCut(): boolean {
    return this.cutSince !== null;
  }

  /** From now on nothing passes either way, on old connections and new ones alike. */
  cut(): void {
    this.cutSince ??= performance.now();
  }

  restore(): void {
    this.cutSince = null;
    for (const direction of this.directions) direction.restore();
  }

  async close(): Promise<void> {
    for (const direction of this.directions) direction.stop();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket, targetPort: number): void {
    this.openedAt.push(performance.now());
    const server = connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true });
    const pair = [client, server];
    const ways = [new Direction(this, client, server), new Direction(this, server, client)];
    for (const socket of pair) {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket
        .on('error', () => undefined)
        .on('close', () => {
          for (const other of pair) {
            other.destroy();
            this.sockets.delete(other);
          }
          for (const way of ways) {
            way.stop();
            this.directions.delete(way);
          }
        });
    }
    for (const way of ways) this.directions.add(way);
  }
}
