// Large outgoing packets in buffers used again once the socket wrote them
// (src/remote/packet-reuse.ts), against the real sshd: what the command reads is what was sent,
// byte for byte, while a few buffers carry thousands of packets, with each cipher ssh2 has in
// native code and through a jump host; a cipher that writes out a copy of its packet leaves
// them all alone.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { Client } from 'ssh2';
import { expect, it } from 'vitest';
import { REUSED_MIN_PAYLOAD, reuseDataPackets } from '../../src/remote/packet-reuse.js';
import { describeWithSshd } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

const MiB = 1024 * 1024;

interface Sent {
  /** Large packets written to the socket. */
  writes: number;
  /** Distinct memory among them (a packet may be the start of a larger buffer). */
  buffers: number;
  /** The sha256 the command printed of what it read. */
  remoteSha256: string;
}

describeWithSshd('packets reused, against OpenSSH sshd', () => {
  const host = withSshd();
  // New keys every MiB: each exchange brings a new cipher object, and packets wait in ssh2's queue meanwhile.
  const rekeying = withSshd({ extraConfig: ['RekeyLimit 1M'] });

  interface Counted {
    client: Client;
    /** Large packets written to the login's socket, and the distinct memory among them. */
    writes: () => number;
    buffers: () => number;
    /** What the reuse holds (with `reuse`). */
    pool: { readonly keptBytes: number } | undefined;
  }

  /** A login with `cipher` (over `sock` when given), its socket's writes counted below the reuse when `reuse`. */
  async function login(cipher: string, reuse: boolean, sock?: Duplex, sshd = host.sshd): Promise<Counted> {
    const client = new Client();
    const written = new Set<ArrayBufferLike>();
    let writes = 0;
    let pool: Counted['pool'];
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({
        ...(sock ? { sock } : { host: '127.0.0.1', port: sshd.port }),
        username: sshd.user,
        privateKey: readFileSync(sshd.clientKey.privateKeyFile),
        algorithms: { cipher: [cipher as never] },
      });
      const socket = (client as unknown as { _sock: { write: (chunk: unknown, ...rest: unknown[]) => boolean } })._sock;
      const write = socket.write;
      socket.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
        if (Buffer.isBuffer(chunk) && chunk.length >= REUSED_MIN_PAYLOAD) {
          writes++;
          written.add(chunk.buffer);
        }
        return write.call(this, chunk, ...rest);
      };
      if (reuse) pool = reuseDataPackets(client);
    });
    return { client, writes: () => writes, buffers: () => written.size, pool };
  }

  /** The sha256 that `sha256sum` on the host prints of `data` given as its input. */
  function remoteSha256(client: Client, data: Buffer): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      client.exec('sha256sum', (error, stream) => {
        if (error) return reject(error);
        let out = '';
        stream.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        stream.stderr.resume();
        stream.on('close', () => resolve(out.split(/\s/)[0]!));
        stream.end(data);
      });
    });
  }

  /**
   * `data` as a command's input over a new login with `cipher`, the socket's writes counted
   * below the reuse when `reuse`; `copying` makes the cipher write a copy of each packet.
   */
  async function send(data: Buffer, cipher: string, reuse: boolean, copying = false, sshd = host.sshd): Promise<Sent> {
    const { client, writes, buffers } = await login(cipher, reuse, undefined, sshd);
    try {
      if (copying) {
        // ssh2's ciphers in JavaScript (used without its native code) encrypt into new buffers: written out instead of the packet.
        const encrypting = (client as unknown as { _protocol: { _cipher: { _onWrite: (packet: Buffer) => void } } })._protocol._cipher;
        const onWrite = encrypting._onWrite;
        encrypting._onWrite = (packet) => onWrite(Buffer.from(packet));
      }
      const printed = await remoteSha256(client, data);
      return { writes: writes(), buffers: buffers(), remoteSha256: printed };
    } finally {
      client.end();
    }
  }

  const data = randomBytes(16 * MiB + 12_345);
  const sha256 = createHash('sha256').update(data).digest('hex');

  it.each(['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes256-ctr'])(
    '%s: the command reads every byte, carried by a few buffers used again',
    async (cipher) => {
      const sent = await send(data, cipher, true);
      expect(sent.remoteSha256).toBe(sha256);
      // 16 MiB is some 500 full packets; the buffers are those the socket held at once.
      expect(sent.writes).toBeGreaterThan(400);
      expect(sent.buffers).toBeLessThan(sent.writes / 4);
    },
  );

  it('without it, each packet is a buffer of its own (what the counting above tells apart)', async () => {
    const sent = await send(data, 'aes128-gcm@openssh.com', false);
    expect(sent.remoteSha256).toBe(sha256);
    expect(sent.buffers).toBe(sent.writes);
  });

  it('through a jump host (the login runs over a channel of another): every byte arrives, in buffers used again on both', async () => {
    const jump = await login('aes128-gcm@openssh.com', true);
    try {
      const channel = await new Promise<Duplex>((resolve, reject) =>
        jump.client.forwardOut('127.0.0.1', 0, '127.0.0.1', host.sshd.port, (error, stream) => (error ? reject(error) : resolve(stream))),
      );
      const inner = await login('aes128-gcm@openssh.com', true, channel);
      try {
        expect(await remoteSha256(inner.client, data)).toBe(sha256);
        for (const each of [inner, jump]) {
          expect(each.writes()).toBeGreaterThan(400);
          expect(each.buffers()).toBeLessThan(each.writes() / 4);
        }
      } finally {
        inner.client.end();
      }
    } finally {
      jump.client.end();
    }
  });

  it('keys exchanged again every MiB on the way: every byte arrives, in buffers used again', async () => {
    const sent = await send(data, 'aes128-gcm@openssh.com', true, false, rekeying.sshd);
    expect(sent.remoteSha256).toBe(sha256);
    expect(sent.buffers).toBeLessThan(sent.writes / 4);
  });

  it('the buffers kept free are let go once no large packet was made for 2 s', async () => {
    const { client, pool } = await login('aes128-gcm@openssh.com', true);
    try {
      expect(await remoteSha256(client, data)).toBe(sha256);
      expect(pool?.keptBytes).toBeGreaterThan(0);
      await waitFor(() => pool?.keptBytes === 0, { what: 'the free buffers let go', timeoutMs: 5000 });
    } finally {
      client.end();
    }
  });

  it('a cipher that writes out a copy of its packet: no buffer is used again, every byte arrives', async () => {
    const sent = await send(data, 'aes128-gcm@openssh.com', true, true);
    expect(sent.remoteSha256).toBe(sha256);
    expect(sent.buffers).toBe(sent.writes);
  });
});
