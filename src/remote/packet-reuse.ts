// Large outgoing packets in buffers used again once the socket has written them. ssh2 makes
// every packet a new Buffer: an upload of 1 GiB is 32,768 packets of 32 KiB, a Buffer each,
// whose memory comes back only when a collection finds them dead, and V8 collects for them
// only after tens of MB (the full-screen view peaked at 169-186 MiB during a 1 GiB upload).
// Reaches into ssh2's protocol object like signKeyFilesAtOnce (ssh2.ts): elsewhere, nothing
// changes.
import type * as Ssh2 from 'ssh2';
import { withFirstAllocation } from './first-allocation.js';

/** Packets with less payload than this are made as ssh2 makes them: a command's or a key's, not an upload's. */
export const REUSED_MIN_PAYLOAD = 16 * 1024;
/** Free buffers kept per connection; more are left to the collector. */
const FREE_KEPT_BYTES = 8 * 2 ** 20;
/** Free buffers unused this long are let go: a fleet's connections each keep theirs after an upload. */
const FREE_KEPT_IDLE_MS = 2000;

interface CipherInternals {
  allocPacket(payloadLength: number): Buffer;
}

interface ProtocolInternals {
  _cipher?: CipherInternals;
  channelData(channel: number, data: Buffer | string): void;
}

type SocketWrite = (chunk: unknown, ...rest: unknown[]) => boolean;

/**
 * Buffers of the largest packet's size, in whose start ssh2's own allocPacket makes each
 * large packet, whichever cipher the keys of the moment use (a key re-exchange brings a new
 * cipher object). The ciphers ssh2 has in native code encrypt a packet in place and write
 * that same buffer; a buffer comes back when the socket has written it. A cipher that writes
 * something else (one that encrypts into a new buffer) never gives one back, and the pool
 * then makes new ones.
 */
class PacketPool {
  /** Bytes of each buffer: the largest packet made so far. */
  private size = 0;
  private free: Buffer[] = [];
  /** Each packet made here, with the buffer it starts. */
  private readonly made = new WeakMap<Buffer, Buffer>();
  private usedAt = 0;
  private letGo: NodeJS.Timeout | undefined;

  alloc(payloadLength: number, allocate: (payloadLength: number) => Buffer): Buffer {
    if (payloadLength < REUSED_MIN_PAYLOAD) return allocate(payloadLength);
    this.usedAt = performance.now();
    let backing: Buffer | undefined;
    let view: Buffer | undefined;
    const packet = withFirstAllocation(
      (size, allocUnsafe) => {
        if (size > this.size) {
          this.size = size;
          this.free = [];
        }
        backing = this.free.pop() ?? allocUnsafe(this.size);
        view = backing.subarray(0, size);
        return view;
      },
      () => allocate(payloadLength),
    );
    if (backing && packet === view) this.made.set(packet, backing);
    else if (backing) this.giveBack(backing);
    return packet;
  }

  /** The buffer a packet made here starts, or undefined. */
  backingOf(chunk: unknown): Buffer | undefined {
    return Buffer.isBuffer(chunk) ? this.made.get(chunk) : undefined;
  }

  giveBack(backing: Buffer): void {
    if (backing.length !== this.size || (this.free.length + 1) * backing.length > FREE_KEPT_BYTES) return;
    this.free.push(backing);
    this.letGo ??= setTimeout(() => this.letGoWhenIdle(), FREE_KEPT_IDLE_MS).unref();
  }

  private letGoWhenIdle(): void {
    this.letGo = undefined;
    const idle = performance.now() - this.usedAt;
    if (idle >= FREE_KEPT_IDLE_MS) this.free = [];
    else this.letGo = setTimeout(() => this.letGoWhenIdle(), FREE_KEPT_IDLE_MS - idle).unref();
  }

  /** Free buffers held now, in bytes. */
  get keptBytes(): number {
    return this.free.length * this.size;
  }
}

/**
 * Large channel-data packets of `client` come from a pool and go back to it when the
 * socket's write of them has completed (the kernel, or the channel a ProxyJump runs over,
 * has copied them by then). Call right after client.connect(). Gives back what the pool
 * holds, to be looked at; undefined when ssh2 is not as expected (nothing changed then).
 */
export function reuseDataPackets(client: Ssh2.Client): { readonly keptBytes: number } | undefined {
  const internals = client as unknown as { _protocol?: ProtocolInternals; _sock?: { write?: SocketWrite } };
  const protocol = internals._protocol;
  const socket = internals._sock;
  const channelData = protocol?.channelData;
  const write = socket?.write;
  if (!protocol || !socket || typeof channelData !== 'function' || typeof write !== 'function') return undefined;
  const pool = new PacketPool();
  const wrapped = new WeakSet<CipherInternals>();

  protocol.channelData = function (this: ProtocolInternals, channel, data) {
    const cipher = this._cipher;
    if (cipher && typeof cipher.allocPacket === 'function' && !wrapped.has(cipher)) {
      const allocate = cipher.allocPacket.bind(cipher);
      wrapped.add(cipher);
      cipher.allocPacket = (payloadLength) => pool.alloc(payloadLength, allocate);
    }
    channelData.call(this, channel, data);
  };

  socket.write = function (this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
    const backing = pool.backingOf(chunk);
    // ssh2 writes its packets with no encoding and no callback.
    if (backing === undefined || rest.length > 0) return write.call(this, chunk, ...rest);
    return write.call(this, chunk, () => pool.giveBack(backing));
  };
  return pool;
}
