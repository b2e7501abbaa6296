import crypto, { createDiffieHellman, getDiffieHellman } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createFastDiffieHellman } from './fast-dh.js';

const fast = createFastDiffieHellman(createDiffieHellman);

/** ssh2's kex.js convertToMpint: leading zeros dropped, one added before a set top bit. */
function convertToMpint(buf: Buffer): Buffer {
  let index = 0;
  while (buf[index] === 0x00) index++;
  const digits = buf.subarray(index);
  return digits[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), digits]) : Buffer.from(digits);
}

describe('the fast group-exchange Diffie-Hellman', () => {
  it('agrees with Node on the shared secret, byte for byte, over many key pairs', () => {
    const group = getDiffieHellman('modp14');
    // As a server sends them: mpints, the prime with its leading zero byte.
    const prime = Buffer.concat([Buffer.from([0]), group.getPrime()]);
    const generator = Buffer.from([2]);
    for (let round = 0; round < 300; round++) {
      const ours = fast(prime, generator);
      // The server's side from the named group: Node's createDiffieHellman tests the prime's
      // primality each time, a fifth of a second from Node 26 on (what fast-dh avoids).
      const server = getDiffieHellman('modp14');
      const serverPublic = server.generateKeys();
      const ourPublic = ours.generateKeys();
      expect(ours.generateKeys()).toEqual(ourPublic);
      const ourSecret = ours.computeSecret(convertToMpint(serverPublic));
      const serverSecret = server.computeSecret(ourPublic);
      expect(ourSecret).toEqual(serverSecret);
      expect(convertToMpint(ourSecret)).toEqual(convertToMpint(serverSecret));
    }
  });

  it('gives a secret with leading zero bytes the same as Node does', () => {
    const group = getDiffieHellman('modp14');
    const prime = group.getPrime();
    let found = 0;
    for (let round = 0; round < 3000 && found < 2; round++) {
      const ours = fast(prime, Buffer.from([2]));
      const server = getDiffieHellman('modp14');
      server.generateKeys();
      const serverSecret = server.computeSecret(ours.generateKeys());
      if (serverSecret[0] !== 0) continue;
      found++;
      expect(ours.computeSecret(server.getPublicKey())).toEqual(serverSecret);
    }
    expect(found).toBe(2);
  });

  it('answers getPrime and getGenerator as Node does', () => {
    const group = getDiffieHellman('modp15');
    const ours = fast(Buffer.concat([Buffer.from([0]), group.getPrime()]), Buffer.from([0, 0, 5]));
    const node = createDiffieHellman(group.getPrime(), Buffer.from([5]));
    expect(ours.getPrime()).toEqual(node.getPrime());
    expect(ours.getGenerator()).toEqual(node.getGenerator());
  });

  it('refuses an invalid peer value as Node does', () => {
    const group = getDiffieHellman('modp14');
    const ours = fast(group.getPrime(), Buffer.from([2]));
    expect(() => ours.computeSecret(Buffer.from([1]))).toThrow();
  });

  it('leaves every other form to Node', () => {
    const dh = fast(512);
    expect(dh.getPrime().length).toBe(64);
  });

  it("puts Node's own back once ssh2 is loaded", async () => {
    const before = crypto.createDiffieHellman;
    await import('./ssh2.js');
    expect(crypto.createDiffieHellman).toBe(before);
  });
});
