// Keys made fresh for every lab start: one host key per host, one client key for the upgrader.
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';

export interface LabKeyPair {
  /** OpenSSH private key, unencrypted. */
  privateKey: string;
  /** "ssh-ed25519 AAAA... comment" */
  publicKey: string;
}

export function generateLabKeyPair(comment: string): LabKeyPair {
  // ssh2 1.17 strips leading zero bytes from ed25519 public keys, so about 1 key in 256
  // cannot be parsed back (mscdex/ssh2#1513): draw again until both halves parse.
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    const parses = (key: string) => !(ssh2.utils.parseKey(key) instanceof Error);
    if (parses(pair.private) && parses(pair.public)) return { privateKey: pair.private, publicKey: pair.public };
  }
}

export function parsePublicKey(publicKey: string): ParsedKey {
  const parsed = ssh2.utils.parseKey(publicKey);
  if (parsed instanceof Error) throw parsed;
  return parsed;
}

/** The "type base64" part of a public key line, as known_hosts wants it. */
export function publicKeyWithoutComment(publicKey: string): string {
  return publicKey.trim().split(/\s+/).slice(0, 2).join(' ');
}
