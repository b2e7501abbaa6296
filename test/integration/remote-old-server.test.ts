// A 2010-era sshd (ssh-rsa host key, diffie-hellman-group14-sha1, aes128-ctr, hmac-sha1,
// ssh-rsa user keys): reached when the ssh config allows those algorithms, refused with both
// sides' lists and the config line otherwise. And the group-exchange login's speed.
import { beforeAll, describe, expect, test } from 'vitest';
import { NoCommonAlgorithmError } from '../../src/remote/algorithms.js';
import { isFinalLoginError } from '../../src/remote/errors.js';
import { OPENSSH_ALGORITHMS } from '../../src/remote/openssh-defaults.js';
import type { AlgorithmLists } from '../../src/remote/types.js';
import { connectTo, hostFor, pinHostKey, rejectionOf, runOn } from '../support/connect-host.js';
import { generateKeyPair, type KeyPair } from '../support/ssh-keys.js';
import { poolFor, run } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { withSshd } from '../support/with-sshd.js';

/** What `ssh -G` gives on OpenSSH 9.2 without any algorithm options. */
const OPENSSH_DEFAULTS = Object.fromEntries(
  Object.entries(OPENSSH_ALGORITHMS).map(([kind, category]) => [kind, [...category.defaults]]),
) as Required<AlgorithmLists>;

describeWithSshd('an sshd offering only ssh-rsa, diffie-hellman-group14-sha1, aes128-ctr and hmac-sha1', () => {
  const host = withSshd(
    {
      hostKeyTypes: ['rsa'],
      authorizeClientKey: false,
      extraConfig: [
        'HostKeyAlgorithms ssh-rsa',
        'KexAlgorithms diffie-hellman-group14-sha1',
        'Ciphers aes128-ctr',
        'MACs hmac-sha1',
        'PubkeyAcceptedAlgorithms ssh-rsa',
      ],
    },
    { home: 'suite' },
  );
  let rsaKey: KeyPair;

  beforeAll(async () => {
    rsaKey = await generateKeyPair(host.home, 'id_rsa', { type: 'rsa' });
    await host.sshd.authorize(rsaKey.publicLine);
    pinHostKey(host.sshd, host.home);
  });

  test('connects when the config allows them (KexAlgorithms +…, HostKeyAlgorithms +…, PubkeyAcceptedAlgorithms ssh-rsa)', async () => {
    // This sshd names rsa-sha2-256 in server-sig-algs yet accepts only ssh-rsa: as with
    // OpenSSH's ssh, `PubkeyAcceptedAlgorithms ssh-rsa` is what reaches it.
    const algorithms: AlgorithmLists = {
      ...OPENSSH_DEFAULTS,
      kex: [...OPENSSH_DEFAULTS.kex, 'diffie-hellman-group14-sha1'],
      hostKey: [...OPENSSH_DEFAULTS.hostKey, 'ssh-rsa'],
      pubkey: ['ssh-rsa'],
    };
    const connection = await connectTo(hostFor(host.sshd, { identityFiles: [rsaKey.privateKeyFile], algorithms }), host.home);
    expect((await runOn(connection, 'echo old')).stdout).toBe('old\n');
    await connection.close();
    expect(host.sshd.log()).toMatch(/Accepted publickey .* RSA/);
  });

  test("with OpenSSH's defaults: refused, naming both sides' key exchange lists and the line that allows it; final", async () => {
    const error = await rejectionOf(connectTo(hostFor(host.sshd, { identityFiles: [rsaKey.privateKeyFile], algorithms: OPENSSH_DEFAULTS }), host.home));
    expect(error).toBeInstanceOf(NoCommonAlgorithmError);
    expect(error.message).toContain('no key exchange algorithm in common');
    expect(error.message).toContain('curve25519-sha256@libssh.org,curve25519-sha256');
    expect(error.message).toContain('the server offers diffie-hellman-group14-sha1');
    expect(error.message).toContain('KexAlgorithms +diffie-hellman-group14-sha1');
    expect(error.message).not.toContain('sntrup761');
    expect(error.message).not.toMatch(/runs an SSH server/);
    expect(isFinalLoginError(error)).toBe(true);
  });

  test("through the pool: a command fails at once with the refusal (not after 10 minutes of retries), and so does wait: ssh's login", async () => {
    // No algorithm options resolved: ssh2's defaults, which lack diffie-hellman-group14-sha1.
    const pool = poolFor(host.sshd, { home: host.home, spec: { identityFile: rsaKey.privateKeyFile } });
    try {
      const started = Date.now();
      const error = await rejectionOf(run(pool, 'true'));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(error).toBeInstanceOf(NoCommonAlgorithmError);
      expect(error.message).toContain('KexAlgorithms +diffie-hellman-group14-sha1');
      expect(pool.state('dragon')).toMatchObject({ state: 'failed' });
      // What `wait: ssh` calls each time: the same final refusal, which its loop rethrows.
      const ignore = () => {};
      const waited = await rejectionOf(pool.execOnNewConnection('dragon', 'true', { onStdout: ignore, onStderr: ignore }));
      expect(waited).toBeInstanceOf(NoCommonAlgorithmError);
      expect(isFinalLoginError(waited)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  test('with the key exchange allowed but not the host key: HostKeyAlgorithms +ssh-rsa', async () => {
    const algorithms: AlgorithmLists = { ...OPENSSH_DEFAULTS, kex: [...OPENSSH_DEFAULTS.kex, 'diffie-hellman-group14-sha1'] };
    const error = await rejectionOf(connectTo(hostFor(host.sshd, { identityFiles: [rsaKey.privateKeyFile], algorithms }), host.home));
    expect(error).toBeInstanceOf(NoCommonAlgorithmError);
    expect(error.message).toContain('the server offers ssh-rsa');
    expect(error.message).toContain('HostKeyAlgorithms +ssh-rsa');
  });

  test('with host key and key exchange allowed but no common cipher: Ciphers +aes128-ctr', async () => {
    const algorithms: AlgorithmLists = {
      ...OPENSSH_DEFAULTS,
      kex: [...OPENSSH_DEFAULTS.kex, 'diffie-hellman-group14-sha1'],
      hostKey: [...OPENSSH_DEFAULTS.hostKey, 'ssh-rsa'],
      cipher: ['aes256-gcm@openssh.com'],
    };
    const error = await rejectionOf(connectTo(hostFor(host.sshd, { identityFiles: [rsaKey.privateKeyFile], algorithms }), host.home));
    expect(error).toBeInstanceOf(NoCommonAlgorithmError);
    expect(error.message).toContain('Ciphers +aes128-ctr');
  });
});

describeWithSshd('an sshd offering only diffie-hellman-group-exchange-sha256', () => {
  const host = withSshd({ extraConfig: ['KexAlgorithms diffie-hellman-group-exchange-sha256'] }, { home: 'suite' });

  beforeAll(async () => {
    pinHostKey(host.sshd, host.home);
  });

  test('logs in, without seconds spent testing the primality of the server group', async () => {
    const times: number[] = [];
    for (let round = 0; round < 3; round++) {
      const started = performance.now();
      const connection = await connectTo(hostFor(host.sshd), host.home);
      times.push(performance.now() - started);
      expect((await runOn(connection, 'echo gex')).stdout).toBe('gex\n');
      await connection.close();
    }
    // With Node's createDiffieHellman the prime test alone took 1.5 s (3072 bits) per login.
    console.log(`group-exchange logins: ${times.map((ms) => `${Math.round(ms)} ms`).join(', ')}`);
    expect(Math.min(...times)).toBeLessThan(1000);
  });
});

describe('NoCommonAlgorithmError', () => {
  test('is one of the refusals the reconnect loop gives up on at once', () => {
    expect(isFinalLoginError(new NoCommonAlgorithmError('x', 'kex', [], []))).toBe(true);
  });
});
