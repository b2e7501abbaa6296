// SSH keys made in-process with ssh2 (the demo lab's keys, the helper channel's host key)
// and fingerprints as OpenSSH prints them.
import { createHash } from 'node:crypto';
import { ssh2 } from './ssh2.js';
import type { ParsedKey } from 'ssh2';

export interface SshKeyPair {
  /** OpenSSH private key, unencrypted. */
  privateKey: string;
  /** "ssh-ed25519 AAAA... comment" */
  publicKey: string;
}

export function generateEd25519KeyPair(comment: string): SshKeyPair {
  // ssh2 1.17 strips leading zero bytes from ed25519 public keys, so about 1 key in 256
  // cannot be parsed back (mscdex/ssh2#1513): draw again until both halves parse.
  for (;;) {
    const pair = ssh2().utils.generateKeyPairSync('ed25519', { comment });
    const parses = (key: string) => !(ssh2().utils.parseKey(key) instanceof Error);
    if (parses(pair.private) && parses(pair.public)) return { privateKey: pair.private, publicKey: pair.public };
  }
}

/** A public key line, or an unencrypted private key: ssh2 parses both. */
export function parseKey(key: string): ParsedKey {
  const parsed = ssh2().utils.parseKey(key);
  if (parsed instanceof Error) throw parsed;
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!first) throw new Error('The key text holds no key.');
  return first;
}

export function parsePublicKey(publicKey: string): ParsedKey {
  return parseKey(publicKey);
}

/** The "type base64" part of a public key line, as known_hosts wants it. */
export function publicKeyWithoutComment(publicKey: string): string {
  return publicKey.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** `SHA256:…` of a public key line or an unencrypted private key, as `ssh-keygen -l` prints it. */
export function fingerprintOf(publicOrPrivateKey: string): string {
  const blob = parseKey(publicOrPrivateKey).getPublicSSH();
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
