// Key pairs made by the real ssh-keygen, for the sshd harness and the tests that use it.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type SshKeyType = 'ed25519' | 'ecdsa' | 'rsa';

export interface KeyPair {
  type: SshKeyType;
  privateKeyFile: string;
  publicKeyFile: string;
  /** The .pub file's line: `ssh-ed25519 AAAA… comment` */
  publicLine: string;
  /** `ssh-ed25519 AAAA…` without the comment, as known_hosts and authorized_keys want it. */
  publicKey: string;
  /** As `ssh-keygen -l` prints it: SHA256:… */
  fingerprint: string;
}

export interface KeyPairOptions {
  type?: SshKeyType;
  passphrase?: string;
  comment?: string;
}

export async function generateKeyPair(dir: string, name: string, options: KeyPairOptions = {}): Promise<KeyPair> {
  const type = options.type ?? 'ed25519';
  const privateKeyFile = path.join(dir, name);
  await run('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', '2048'] : []),
    '-N',
    options.passphrase ?? '',
    '-C',
    options.comment ?? `nightshift-test-${name}`,
    '-f',
    privateKeyFile,
  ]);
  return describeKeyPair(privateKeyFile, type);
}

export async function describeKeyPair(privateKeyFile: string, type: SshKeyType): Promise<KeyPair> {
  const publicKeyFile = `${privateKeyFile}.pub`;
  const publicLine = (await readFile(publicKeyFile, 'utf8')).trim();
  const publicKey = publicLine.split(/\s+/).slice(0, 2).join(' ');
  return { type, privateKeyFile, publicKeyFile, publicLine, publicKey, fingerprint: await keyFingerprint(publicKeyFile) };
}

/** The real ssh-keygen's SHA256 fingerprint of a public key file. */
export async function keyFingerprint(publicKeyFile: string): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyFile]);
  const fingerprint = stdout.split(/\s+/)[1];
  if (!fingerprint?.startsWith('SHA256:')) throw new Error(`ssh-keygen -l printed no fingerprint for ${publicKeyFile}: ${stdout}`);
  return fingerprint;
}
