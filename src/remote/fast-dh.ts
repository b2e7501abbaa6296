// A stand-in for crypto.createDiffieHellman(prime, generator) for ssh2's group exchange.
// Node's constructor runs OpenSSL's DH_check, a primality test of the server's prime: 1.5 s
// at 3072 bits, 22 s at 7680, on every login. generateKeyPairSync('dh') and diffieHellman()
// do the same arithmetic without that test (a few ms). The server picked the group; OpenSSH's
// own client does not test the prime either.
import crypto, { createPublicKey, diffieHellman, generateKeyPairSync, type DiffieHellman, type KeyObject } from 'node:crypto';

/** The parts of crypto.DiffieHellman that ssh2's key exchange calls. */
export interface GroupDiffieHellman {
  generateKeys(): Buffer;
  computeSecret(otherPublicKey: Buffer): Buffer;
  getPrime(): Buffer;
  getGenerator(): Buffer;
}

type CreateDiffieHellman = typeof crypto.createDiffieHellman;

/**
 * Same contract as crypto.createDiffieHellman for the (prime Buffer, generator Buffer) form
 * ssh2 uses; any other form (and a generator too large for a number) goes to Node's own.
 */
export function createFastDiffieHellman(original: CreateDiffieHellman): CreateDiffieHellman {
  return ((prime: unknown, ...rest: unknown[]) => {
    const generator = rest[0];
    if (rest.length === 1 && Buffer.isBuffer(prime) && Buffer.isBuffer(generator)) {
      const g = unsignedNumber(generator);
      if (g !== null && g >= 2) return new FastDiffieHellman(stripZeros(prime), g) as unknown as DiffieHellman;
    }
    return (original as (...args: unknown[]) => DiffieHellman)(prime, ...rest);
  }) as CreateDiffieHellman;
}

class FastDiffieHellman implements GroupDiffieHellman {
  private keys: { publicKey: KeyObject; privateKey: KeyObject } | undefined;
  private publicValue: Buffer | undefined;

  constructor(
    private readonly prime: Buffer,
    private readonly generator: number,
  ) {}

  generateKeys(): Buffer {
    if (!this.keys) {
      // @types/node does not know the 'dh' overload.
      const generate = generateKeyPairSync as unknown as (
        type: 'dh',
        options: { prime: Buffer; generator: number },
      ) => { publicKey: KeyObject; privateKey: KeyObject };
      this.keys = generate('dh', { prime: this.prime, generator: this.generator });
      this.publicValue = publicValueOf(this.keys.publicKey);
    }
    return Buffer.from(this.publicValue!);
  }

  computeSecret(otherPublicKey: Buffer): Buffer {
    this.generateKeys();
    const spki = this.keys!.publicKey.export({ type: 'spki', format: 'der' });
    const algorithm = derChildren(derValue(spki, 0x30))[0]!;
    const peer = createPublicKey({
      key: der(0x30, Buffer.concat([algorithm.raw, der(0x03, Buffer.concat([Buffer.from([0]), der(0x02, asDerInteger(otherPublicKey))]))])),
      format: 'der',
      type: 'spki',
    });
    const secret = diffieHellman({ privateKey: this.keys!.privateKey, publicKey: peer });
    // Node's DiffieHellman pads the secret to the prime's length; so does this.
    if (secret.length >= this.prime.length) return secret;
    return Buffer.concat([Buffer.alloc(this.prime.length - secret.length), secret]);
  }

  getPrime(): Buffer {
    return Buffer.from(this.prime);
  }

  getGenerator(): Buffer {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(this.generator);
    return stripZeros(bytes);
  }
}

function unsignedNumber(buffer: Buffer): number | null {
  const digits = stripZeros(buffer);
  if (digits.length > 4) return null;
  return digits.length === 0 ? 0 : digits.readUIntBE(0, digits.length);
}

function stripZeros(buffer: Buffer): Buffer {
  let start = 0;
  while (start < buffer.length - 1 && buffer[start] === 0) start++;
  return buffer.subarray(start);
}

/** The public value y of a DH SubjectPublicKeyInfo: the INTEGER inside its BIT STRING. */
function publicValueOf(key: KeyObject): Buffer {
  const spki = key.export({ type: 'spki', format: 'der' });
  const bits = derChildren(derValue(spki, 0x30))[1];
  if (bits?.tag !== 0x03) throw new Error('Unexpected DH public key encoding');
  return stripZeros(derValue(bits.value.subarray(1), 0x02));
}

interface DerElement {
  tag: number;
  value: Buffer;
  raw: Buffer;
}

function derRead(buffer: Buffer, offset: number): DerElement & { end: number } {
  const tag = buffer[offset]!;
  let length = buffer[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = buffer.readUIntBE(start, count);
    start += count;
  }
  const end = start + length;
  if (end > buffer.length) throw new Error('Truncated DER');
  return { tag, value: buffer.subarray(start, end), raw: buffer.subarray(offset, end), end };
}

function derValue(buffer: Buffer, tag: number): Buffer {
  const element = derRead(buffer, 0);
  if (element.tag !== tag) throw new Error(`Expected DER tag ${tag}, found ${element.tag}`);
  return element.value;
}

function derChildren(buffer: Buffer): DerElement[] {
  const children: DerElement[] = [];
  for (let offset = 0; offset < buffer.length; ) {
    const element = derRead(buffer, offset);
    children.push(element);
    offset = element.end;
  }
  return children;
}

function der(tag: number, value: Buffer): Buffer {
  const length = value.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(length);
    const digits = stripZeros(bytes);
    header = Buffer.concat([Buffer.from([tag, 0x80 | digits.length]), digits]);
  }
  return Buffer.concat([header, value]);
}

/** An unsigned big-endian number as a DER INTEGER's content (a leading zero when the top bit is set). */
function asDerInteger(value: Buffer): Buffer {
  const digits = stripZeros(value);
  return digits[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), digits]) : digits;
}
