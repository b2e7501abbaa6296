// What OpenSSH's client offers when the config says nothing, and everything it knows, for the
// algorithm options (KexAlgorithms, HostKeyAlgorithms, Ciphers, MACs, PubkeyAcceptedAlgorithms)
// with their `+`/`-`/`^` syntax. Only the own parser needs this: with an ssh binary, `ssh -G`
// gives the final lists. The lists are OpenSSH 9.2's (Debian 12), as `ssh -G` and `ssh -Q` print them.
import { SshConfigError } from './ssh-config-common.js';
import type { AlgorithmLists } from './types.js';

export type AlgorithmCategory = keyof AlgorithmLists;

interface Category {
  directive: string;
  defaults: string[];
  supported: string[];
  /** HostKeyAlgorithms and PubkeyAcceptedAlgorithms take patterns in every form; the others only after `-`. */
  wildcards: boolean;
}

const KEY_TYPES = [
  'ssh-ed25519',
  'ssh-ed25519-cert-v01@openssh.com',
  'sk-ssh-ed25519@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'webauthn-sk-ecdsa-sha2-nistp256@openssh.com',
  'ssh-dss',
  'ssh-dss-cert-v01@openssh.com',
  'ssh-rsa',
  'ssh-rsa-cert-v01@openssh.com',
  'rsa-sha2-256',
  'rsa-sha2-256-cert-v01@openssh.com',
  'rsa-sha2-512',
  'rsa-sha2-512-cert-v01@openssh.com',
];

const DEFAULT_KEY_ALGORITHMS = [
  'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com',
  'rsa-sha2-256-cert-v01@openssh.com',
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'rsa-sha2-512',
  'rsa-sha2-256',
];

export const OPENSSH_ALGORITHMS: Record<AlgorithmCategory, Category> = {
  kex: {
    directive: 'KexAlgorithms',
    wildcards: false,
    defaults: [
      'sntrup761x25519-sha512',
      'sntrup761x25519-sha512@openssh.com',
      'curve25519-sha256',
      'curve25519-sha256@libssh.org',
      'ecdh-sha2-nistp256',
      'ecdh-sha2-nistp384',
      'ecdh-sha2-nistp521',
      'diffie-hellman-group-exchange-sha256',
      'diffie-hellman-group16-sha512',
      'diffie-hellman-group18-sha512',
      'diffie-hellman-group14-sha256',
    ],
    supported: [
      'diffie-hellman-group1-sha1',
      'diffie-hellman-group14-sha1',
      'diffie-hellman-group14-sha256',
      'diffie-hellman-group16-sha512',
      'diffie-hellman-group18-sha512',
      'diffie-hellman-group-exchange-sha1',
      'diffie-hellman-group-exchange-sha256',
      'ecdh-sha2-nistp256',
      'ecdh-sha2-nistp384',
      'ecdh-sha2-nistp521',
      'curve25519-sha256',
      'curve25519-sha256@libssh.org',
      'sntrup761x25519-sha512',
      'sntrup761x25519-sha512@openssh.com',
    ],
  },
  hostKey: { directive: 'HostKeyAlgorithms', wildcards: true, defaults: DEFAULT_KEY_ALGORITHMS, supported: KEY_TYPES },
  cipher: {
    directive: 'Ciphers',
    wildcards: false,
    defaults: ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'],
    supported: [
      '3des-cbc',
      'aes128-cbc',
      'aes192-cbc',
      'aes256-cbc',
      'aes128-ctr',
      'aes192-ctr',
      'aes256-ctr',
      'aes128-gcm@openssh.com',
      'aes256-gcm@openssh.com',
      'chacha20-poly1305@openssh.com',
    ],
  },
  mac: {
    directive: 'MACs',
    wildcards: false,
    defaults: [
      'umac-64-etm@openssh.com',
      'umac-128-etm@openssh.com',
      'hmac-sha2-256-etm@openssh.com',
      'hmac-sha2-512-etm@openssh.com',
      'hmac-sha1-etm@openssh.com',
      'umac-64@openssh.com',
      'umac-128@openssh.com',
      'hmac-sha2-256',
      'hmac-sha2-512',
      'hmac-sha1',
    ],
    supported: [
      'hmac-sha1',
      'hmac-sha1-96',
      'hmac-sha2-256',
      'hmac-sha2-512',
      'hmac-md5',
      'hmac-md5-96',
      'umac-64@openssh.com',
      'umac-128@openssh.com',
      'hmac-sha1-etm@openssh.com',
      'hmac-sha1-96-etm@openssh.com',
      'hmac-sha2-256-etm@openssh.com',
      'hmac-sha2-512-etm@openssh.com',
      'hmac-md5-etm@openssh.com',
      'hmac-md5-96-etm@openssh.com',
      'umac-64-etm@openssh.com',
      'umac-128-etm@openssh.com',
    ],
  },
  pubkey: { directive: 'PubkeyAcceptedAlgorithms', wildcards: true, defaults: DEFAULT_KEY_ALGORITHMS, supported: KEY_TYPES },
};

/**
 * The list ssh would offer for `value` as written in the config (`where` names the file and
 * host for the error), as OpenSSH's kex_assemble_names does it: `+` appends to the defaults,
 * `-` removes what matches its patterns, `^` puts the names first, anything else replaces
 * the defaults; the result keeps only what OpenSSH supports.
 */
export function assembleAlgorithms(category: AlgorithmCategory, value: string, where: string): string[] {
  const { directive, defaults, supported, wildcards } = OPENSSH_ALGORITHMS[category];
  const prefix = value[0];
  const names = (prefix === '+' || prefix === '-' || prefix === '^' ? value.slice(1) : value).split(',').map((name) => name.trim());
  if (prefix === '-') return defaults.filter((name) => !names.some((pattern) => patternMatch(pattern, name)));
  for (const name of names) {
    const known = wildcards && /[*?]/.test(name) ? supported.some((candidate) => patternMatch(name, candidate)) : supported.includes(name);
    if (!known) {
      throw new SshConfigError(
        `${where}: ${directive} ${value} names '${name}', which OpenSSH does not know` +
          `${!wildcards && /[*?]/.test(name) ? ` (${directive} takes patterns only after '-')` : ''}; ` +
          `ssh would refuse this config too. Correct the ${directive} line.`,
      );
    }
  }
  const wanted = prefix === '+' ? [...defaults, ...names] : prefix === '^' ? [...names, ...defaults] : names;
  const result: string[] = [];
  for (const pattern of wanted) {
    for (const name of supported.filter((candidate) => patternMatch(pattern, candidate))) {
      if (!result.includes(name)) result.push(name);
    }
  }
  return result;
}

/** ssh's match_pattern: `*` and `?` wildcards, whole string. */
function patternMatch(pattern: string, name: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}
