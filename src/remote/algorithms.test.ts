import { describe, expect, test } from 'vitest';
import { HandshakeLog, mismatchKind, noCommonAlgorithm, offerFor, UnsupportedAlgorithmsError, type AlgorithmTable } from './algorithms.js';

const ssh2: { supported: AlgorithmTable; defaults: AlgorithmTable } = {
  supported: {
    kex: ['curve25519-sha256', 'diffie-hellman-group14-sha256', 'diffie-hellman-group14-sha1'],
    hostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-dss'],
    cipher: ['aes128-gcm@openssh.com', 'aes128-ctr', 'aes128-cbc'],
    mac: ['hmac-sha2-256', 'hmac-sha1'],
  },
  defaults: {
    kex: ['curve25519-sha256', 'diffie-hellman-group14-sha256'],
    hostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
    cipher: ['aes128-gcm@openssh.com', 'aes128-ctr'],
    mac: ['hmac-sha2-256', 'hmac-sha1'],
  },
};

describe('offerFor', () => {
  test("ssh2's defaults and the policy's host key order when the config sets nothing", () => {
    expect(offerFor(undefined, ['rsa-sha2-512', 'ssh-ed25519'], ssh2, 'dragon')).toEqual({
      kex: ssh2.defaults.kex,
      serverHostKey: ['rsa-sha2-512', 'ssh-ed25519'],
      cipher: ssh2.defaults.cipher,
      hmac: ssh2.defaults.mac,
    });
  });

  test("what the config allows, in ssh2's order of preference and the config's others after, without the names ssh2 cannot speak", () => {
    const offer = offerFor(
      {
        kex: ['sntrup761x25519-sha512@openssh.com', 'diffie-hellman-group14-sha1', 'curve25519-sha256'],
        cipher: ['chacha20-poly1305@openssh.com', 'aes128-ctr'],
        mac: ['umac-64-etm@openssh.com', 'hmac-sha1'],
      },
      ['ssh-ed25519'],
      ssh2,
      'dragon',
    );
    expect(offer.kex).toEqual(['curve25519-sha256', 'diffie-hellman-group14-sha1']);
    expect(offer.cipher).toEqual(['aes128-ctr']);
    expect(offer.hmac).toEqual(['hmac-sha1']);
  });

  test("host keys: the policy's recorded types first, then the config's, only names the config allows", () => {
    const offer = offerFor(
      { hostKey: ['ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519', 'rsa-sha2-256', 'ssh-dss'] },
      ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-ed25519', 'ssh-rsa'],
      ssh2,
      'dragon',
    );
    expect(offer.serverHostKey).toEqual(['rsa-sha2-256', 'ssh-ed25519', 'ssh-dss']);
  });

  test('a list with no name ssh2 speaks is refused, naming the option and what could be used', () => {
    expect(() => offerFor({ kex: ['sntrup761x25519-sha512@openssh.com'] }, [], ssh2, 'dragon')).toThrow(UnsupportedAlgorithmsError);
    expect(() => offerFor({ mac: ['umac-64@openssh.com'] }, [], ssh2, 'dragon')).toThrow(
      /dragon: its MACs \(umac-64@openssh.com\) names no MAC .* hmac-sha2-256,hmac-sha1/,
    );
  });
});

describe('a handshake with nothing in common', () => {
  test("ssh2's messages name the kind", () => {
    expect(mismatchKind('Handshake failed: no matching key exchange algorithm')).toBe('kex');
    expect(mismatchKind('Handshake failed: no matching host key format')).toBe('hostKey');
    expect(mismatchKind('Handshake failed: no matching C->S cipher')).toBe('cipher');
    expect(mismatchKind('Handshake failed: no matching S->C MAC')).toBe('mac');
    expect(mismatchKind('Handshake failed: no matching C->S compression')).toBeNull();
    expect(mismatchKind('Keepalive timeout')).toBeNull();
  });

  test("the error shows both sides' lists from ssh2's debug lines, without protocol markers, and the line to add", () => {
    const log = new HandshakeLog();
    log.debug('Handshake: (local) KEX method: curve25519-sha256,ext-info-c,kex-strict-c-v00@openssh.com');
    log.debug('Handshake: (remote) KEX method: diffie-hellman-group1-sha1,diffie-hellman-group14-sha1');
    const offer = offerFor(undefined, [], ssh2, 'dragon');
    const error = noCommonAlgorithm('dragon at 10.0.0.5:22', 'kex', offer, log, ssh2.supported);
    expect(error.message).toBe(
      'Could not connect to dragon at 10.0.0.5:22: no key exchange algorithm in common. nightshift offered curve25519-sha256 (KexAlgorithms); ' +
        'the server offers diffie-hellman-group1-sha1,diffie-hellman-group14-sha1. ' +
        'If that server is to be reached with it, allow it for the host in the ssh config: KexAlgorithms +diffie-hellman-group14-sha1. Better: update the server.',
    );
    expect(error.serverOffered).toEqual(['diffie-hellman-group1-sha1', 'diffie-hellman-group14-sha1']);
  });

  test('a server offering nothing nightshift can speak: no config line can help', () => {
    const log = new HandshakeLog();
    log.debug('Handshake: (remote) C->S MAC: umac-64@openssh.com,\x1b[2Jx');
    const error = noCommonAlgorithm('dragon', 'mac', offerFor(undefined, [], ssh2, 'dragon'), log, ssh2.supported);
    expect(error.message).toContain('the server offers umac-64@openssh.com,x');
    expect(error.message).not.toContain('\x1b');
    expect(error.message).toContain('the server must be updated or reconfigured');
    expect(error.message).not.toContain('MACs +');
  });

  test('the log stops listening after the first handshake', () => {
    const log = new HandshakeLog();
    log.stop();
    log.debug('Handshake: (remote) KEX method: a');
    expect(log.remote).toEqual({});
  });
});
