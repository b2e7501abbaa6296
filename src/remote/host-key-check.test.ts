import { describe, expect, test } from 'vitest';
import { HostCertificateUnsupportedError, HostKeyMismatchError, HostKeyRevokedError } from './errors.js';
import { checkHostKey, hostKeyAlgorithms, knownHostsPolicy, type HostKeyCheckTarget } from './host-key-check.js';
import { lookupHostKeys, parseKnownHosts } from './known-hosts.js';

const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMMwQvAXBm81mHh0T0nVgNg8QfoAmhnAnFgBHnyuGBfo';
const ECDSA =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEI4NvrQz0h3SdicrjxtgRloSotSw+TCU8VTi6948nhdmThPqOooBjc9DlIM5XlT+fOth4stxktaNIjIf+aApzU=';
const OTHER_ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ8c484Ai/yMqXZ2kNuBQOofTdf2k2GiF8Ik3CPT/0vZ';
const blob = (line: string) => Buffer.from(line.split(' ')[1] ?? '', 'base64');

const target: HostKeyCheckTarget = {
  host: 'dragon',
  address: '127.0.0.1',
  port: 2222,
  removeCommand: () => "ssh-keygen -R '[127.0.0.1]:2222'",
};
const records = (text: string) => lookupHostKeys(parseKnownHosts(text, '/kh'), '127.0.0.1', 2222);

describe('checkHostKey', () => {
  test('unknown when nothing is recorded for the host', () => {
    expect(checkHostKey(records(`elsewhere ${ED25519}\n`), target, blob(ED25519))).toEqual({ kind: 'unknown' });
  });

  test('known when one recorded key is this key', () => {
    const text = `[127.0.0.1]:2222 ${ECDSA}\n[127.0.0.1]:2222 ${ED25519}\n`;
    expect(checkHostKey(records(text), target, blob(ED25519))).toEqual({ kind: 'known' });
  });

  test('a different key of the same type is a mismatch naming the recorded one', () => {
    const text = `[127.0.0.1]:2222 ${ECDSA}\n[127.0.0.1]:2222 ${OTHER_ED25519}\n`;
    const verdict = checkHostKey(records(text), target, blob(ED25519));
    expect(verdict.kind).toBe('refused');
    const error = (verdict as { error: Error }).error as HostKeyMismatchError;
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect(error.expected.source).toBe('/kh:2');
    expect(error.expected.keyType).toBe('ssh-ed25519');
    expect(error.removeCommand).toBe("ssh-keygen -R '[127.0.0.1]:2222'");
  });

  test('a key of a type never recorded, while others are, is a mismatch too', () => {
    const verdict = checkHostKey(records(`[127.0.0.1]:2222 ${ECDSA}\n`), target, blob(ED25519));
    expect(verdict.kind).toBe('refused');
    expect((verdict as { error: Error }).error.message).toContain(
      'known_hosts has SHA256:QK8mUtifCe5A8idSLUHBF9bJ/C5SkJWZtjjHXvwS+qI (ecdsa-sha2-nistp256, /kh:1)',
    );
  });

  test('a host known only through @cert-authority is refused, not unknown (no certificate support)', () => {
    const verdict = checkHostKey(records(`@cert-authority [127.0.0.1]:* ${ECDSA}\n`), target, blob(ED25519));
    expect(verdict.kind).toBe('refused');
    const error = (verdict as { error: Error }).error;
    expect(error).toBeInstanceOf(HostCertificateUnsupportedError);
    expect(error.message).toContain('@cert-authority line for it (/kh:1)');
  });

  test('a @cert-authority line beside a recorded key changes nothing', () => {
    const text = `@cert-authority * ${ECDSA}\n[127.0.0.1]:2222 ${ED25519}\n`;
    expect(checkHostKey(records(text), target, blob(ED25519))).toEqual({ kind: 'known' });
    expect(checkHostKey(records(text), target, blob(OTHER_ED25519)).kind).toBe('refused');
  });

  test('a revoked key is refused even when also recorded', () => {
    const verdict = checkHostKey(records(`@revoked * ${ED25519}\n[127.0.0.1]:2222 ${ED25519}\n`), target, blob(ED25519));
    expect((verdict as { error: Error }).error).toBeInstanceOf(HostKeyRevokedError);
  });
});

describe('hostKeyAlgorithms', () => {
  test("ssh2's defaults when nothing is recorded", () => {
    expect(hostKeyAlgorithms([])).toEqual([
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
  });

  test('recorded types first, in the order found', () => {
    expect(hostKeyAlgorithms(['ecdsa-sha2-nistp256']).slice(0, 2)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(hostKeyAlgorithms(['ssh-rsa', 'ecdsa-sha2-nistp384']).slice(0, 5)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ecdsa-sha2-nistp384',
      'ssh-ed25519',
    ]);
  });

  test('types ssh2 cannot verify are left out; ssh-dss is added when recorded', () => {
    expect(hostKeyAlgorithms(['sk-ssh-ed25519@openssh.com', 'ssh-ed25519-cert-v01@openssh.com'])).toEqual(hostKeyAlgorithms([]));
    expect(hostKeyAlgorithms(['ssh-dss'])[0]).toBe('ssh-dss');
  });
});

describe('knownHostsPolicy', () => {
  test('asks for the recorded types first and judges keys as checkHostKey does', () => {
    const policy = knownHostsPolicy(records(`[127.0.0.1]:2222 ${ECDSA}\n`), target);
    expect(policy.algorithms[0]).toBe('ecdsa-sha2-nistp256');
    expect(policy.check(blob(ECDSA))).toEqual({ kind: 'known' });
    expect(policy.check(blob(ED25519)).kind).toBe('refused');
    expect(knownHostsPolicy(records(''), target).check(blob(ED25519))).toEqual({ kind: 'unknown' });
  });
});
