// Host key verification against the real sshd, with known_hosts files written by hand and
// by the real ssh-keygen.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, beforeEach, expect, test } from 'vitest';
import { HostCertificateUnsupportedError, HostKeyMismatchError, HostKeyRevokedError, UnknownHostKeyRejectedError } from '../../src/remote/errors.js';
import { describeWithSshd } from '../support/sshd.js';
import { generateKeyPair, type KeyPair } from '../support/ssh-keys.js';
import { poolFor, run, scriptedInteraction } from '../support/ssh-pool.js';
import { withSshd } from '../support/with-sshd.js';

describeWithSshd('host key verification against OpenSSH sshd', () => {
  const host = withSshd({}, { home: 'test' });
  let otherKey: KeyPair;
  let knownHosts: string;

  beforeAll(async () => {
    otherKey = await generateKeyPair(host.sshd.dir, 'not_the_host_key');
  });
  beforeEach(() => {
    knownHosts = path.join(host.home, '.ssh', 'known_hosts');
  });

  function writeKnownHosts(...lines: string[]): void {
    mkdirSync(path.dirname(knownHosts), { recursive: true });
    writeFileSync(knownHosts, lines.map((line) => `${line}\n`).join(''));
  }

  test('an accepted unknown host key is recorded, and the next connection does not ask', async () => {
    const interaction = scriptedInteraction({ acceptHostKey: true });
    const pool = poolFor(host.sshd, { home: host.home, interaction });
    expect((await run(pool, 'echo hello')).stdout).toBe('hello\n');
    await pool.close();

    expect(interaction.hostKeyQuestions).toEqual([
      { host: 'dragon', address: '127.0.0.1', port: host.sshd.port, keyType: 'ssh-ed25519', fingerprint: host.sshd.hostKey().fingerprint },
    ]);
    expect(readFileSync(knownHosts, 'utf8')).toBe(`${host.sshd.knownHostsLine()}\n`);
    expect(statSync(knownHosts).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(knownHosts)).mode & 0o777).toBe(0o700);
    // The real ssh-keygen finds the recorded entry.
    expect(execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${host.sshd.port}`, '-f', knownHosts], { encoding: 'utf8' })).toContain(
      host.sshd.hostKey().publicKey,
    );

    const again = scriptedInteraction({ acceptHostKey: false });
    const second = poolFor(host.sshd, { home: host.home, interaction: again });
    expect((await run(second, 'echo again')).stdout).toBe('again\n');
    await second.close();
    expect(again.hostKeyQuestions).toEqual([]);
  });

  test('a declined unknown host key refuses the connection and records nothing', async () => {
    const marker = path.join(host.sshd.dir, `declined-${Date.now()}`);
    const pool = poolFor(host.sshd, { home: host.home, interaction: scriptedInteraction({ acceptHostKey: false }) });
    const error = await run(pool, `touch ${marker}`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnknownHostKeyRejectedError);
    expect((error as Error).message).toContain(host.sshd.hostKey().fingerprint);
    expect(pool.state('dragon')).toMatchObject({ state: 'failed', error: (error as Error).message });
    expect(existsSync(knownHosts)).toBe(false);
    expect(existsSync(marker)).toBe(false);
    await pool.close();
  });

  test('a recorded key that differs refuses the connection with both fingerprints, before anything runs', async () => {
    writeKnownHosts('# the old dragon', `[127.0.0.1]:${host.sshd.port} ${otherKey.publicKey}`);
    const marker = path.join(host.sshd.dir, `mismatch-${Date.now()}`);
    const interaction = scriptedInteraction({ acceptHostKey: true });
    const pool = poolFor(host.sshd, { home: host.home, interaction });
    const error = await run(pool, `touch ${marker}`).catch((caught: unknown) => caught);
    await pool.close();

    expect(error).toBeInstanceOf(HostKeyMismatchError);
    const mismatch = error as HostKeyMismatchError;
    expect(mismatch.expected).toEqual({
      host: 'dragon',
      address: '127.0.0.1',
      port: host.sshd.port,
      keyType: 'ssh-ed25519',
      fingerprint: otherKey.fingerprint,
      source: `${knownHosts}:2`,
    });
    expect(mismatch.received).toEqual({
      host: 'dragon',
      address: '127.0.0.1',
      port: host.sshd.port,
      keyType: 'ssh-ed25519',
      fingerprint: host.sshd.hostKey().fingerprint,
    });
    expect(mismatch.message).toBe(
      `The host key of dragon (127.0.0.1:${host.sshd.port}) does not match: known_hosts has ${otherKey.fingerprint} ` +
        `(ssh-ed25519, ${knownHosts}:2), the server sent ${host.sshd.hostKey().fingerprint} (ssh-ed25519). Refusing to connect. ` +
        `If the machine was really reinstalled, remove the old key with: ssh-keygen -R '[127.0.0.1]:${host.sshd.port}'`,
    );
    expect(interaction.hostKeyQuestions).toEqual([]);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(knownHosts, 'utf8')).not.toContain(host.sshd.hostKey().publicKey);
  });

  test('a mismatch found in another known_hosts file names that file in the ssh-keygen -R advice', async () => {
    const other = path.join(host.home, 'site_known_hosts');
    writeFileSync(other, `[127.0.0.1]:${host.sshd.port} ${otherKey.publicKey}\n`);
    const pool = poolFor(host.sshd, { home: host.home, knownHostsFiles: [knownHosts, other] });
    const error = await pool.connect('dragon').catch((caught: unknown) => caught);
    await pool.close();
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect((error as Error).message).toContain(`(ssh-ed25519, ${other}:1)`);
    expect((error as Error).message).toMatch(new RegExp(`ssh-keygen -R '\\[127\\.0\\.0\\.1\\]:${host.sshd.port}' -f ${other}$`));
  });

  test('an entry hashed by the real ssh-keygen -H matches', async () => {
    writeKnownHosts(host.sshd.knownHostsLine());
    execFileSync('ssh-keygen', ['-H', '-f', knownHosts], { stdio: 'ignore' });
    const hashed = readFileSync(knownHosts, 'utf8');
    expect(hashed.startsWith('|1|')).toBe(true);
    expect(hashed).not.toContain('127.0.0.1');

    const interaction = scriptedInteraction({ acceptHostKey: false });
    const pool = poolFor(host.sshd, { home: host.home, interaction });
    expect((await run(pool, 'echo hashed')).stdout).toBe('hashed\n');
    await pool.close();
    expect(interaction.hostKeyQuestions).toEqual([]);
  });

  test('a hashed entry with a different key is a mismatch', async () => {
    writeKnownHosts(`[127.0.0.1]:${host.sshd.port} ${otherKey.publicKey}`);
    execFileSync('ssh-keygen', ['-H', '-f', knownHosts], { stdio: 'ignore' });
    const pool = poolFor(host.sshd, { home: host.home });
    await expect(pool.connect('dragon')).rejects.toBeInstanceOf(HostKeyMismatchError);
    await pool.close();
  });

  test('[127.0.0.1]:port entries are for that port only; a bare 127.0.0.1 entry means port 22', async () => {
    writeKnownHosts(`127.0.0.1 ${host.sshd.hostKey().publicKey}`);
    const asked = scriptedInteraction({ acceptHostKey: false });
    const pool = poolFor(host.sshd, { home: host.home, interaction: asked });
    await expect(pool.connect('dragon')).rejects.toBeInstanceOf(UnknownHostKeyRejectedError);
    await pool.close();
    expect(asked.hostKeyQuestions).toHaveLength(1);

    writeKnownHosts(`other.example,[127.0.0.1]:${host.sshd.port} ${host.sshd.hostKey().publicKey}`);
    const quiet = scriptedInteraction({ acceptHostKey: false });
    const second = poolFor(host.sshd, { home: host.home, interaction: quiet });
    await second.connect('dragon');
    await second.close();
    expect(quiet.hostKeyQuestions).toEqual([]);
  });

  test('wildcard and negated patterns are honoured', async () => {
    writeKnownHosts(`[127.0.0.*]:${host.sshd.port} ${host.sshd.hostKey().publicKey}`);
    const quiet = scriptedInteraction({ acceptHostKey: false });
    const pool = poolFor(host.sshd, { home: host.home, interaction: quiet });
    await pool.connect('dragon');
    await pool.close();
    expect(quiet.hostKeyQuestions).toEqual([]);

    writeKnownHosts(`[127.0.0.*]:${host.sshd.port},![127.0.0.1]:${host.sshd.port} ${host.sshd.hostKey().publicKey}`);
    const asked = scriptedInteraction({ acceptHostKey: false });
    const second = poolFor(host.sshd, { home: host.home, interaction: asked });
    await expect(second.connect('dragon')).rejects.toBeInstanceOf(UnknownHostKeyRejectedError);
    await second.close();
  });

  test('a key marked @revoked is refused even if it is also recorded', async () => {
    writeKnownHosts(`@revoked * ${host.sshd.hostKey().publicKey}`, host.sshd.knownHostsLine());
    const pool = poolFor(host.sshd, { home: host.home });
    const error = await pool.connect('dragon').catch((caught: unknown) => caught);
    await pool.close();
    expect(error).toBeInstanceOf(HostKeyRevokedError);
    expect((error as Error).message).toContain(`${knownHosts}:1`);
  });

  test('a host known only through a @cert-authority line is refused, not asked about (no host certificates)', async () => {
    writeKnownHosts(`@cert-authority [127.0.0.1]:${host.sshd.port} ${host.sshd.hostKey().publicKey}`);
    const asked = scriptedInteraction({ acceptHostKey: true });
    const pool = poolFor(host.sshd, { home: host.home, interaction: asked });
    await expect(pool.connect('dragon')).rejects.toBeInstanceOf(HostCertificateUnsupportedError);
    await pool.close();
    expect(asked.hostKeyQuestions).toHaveLength(0);
  });
});

describeWithSshd('host key algorithm order against an sshd with ed25519 and ecdsa keys', () => {
  const host = withSshd({ hostKeyTypes: ['ed25519', 'ecdsa'] }, { home: 'test' });
  let knownHosts: string;

  beforeEach(() => {
    knownHosts = path.join(host.home, '.ssh', 'known_hosts');
    mkdirSync(path.dirname(knownHosts), { recursive: true });
  });

  test('with only the ecdsa key recorded, the server is asked for ecdsa and matches', async () => {
    writeFileSync(knownHosts, `${host.sshd.knownHostsLine('ecdsa')}\n`);
    const quiet = scriptedInteraction({ acceptHostKey: false });
    const pool = poolFor(host.sshd, { home: host.home, interaction: quiet });
    expect((await run(pool, 'echo ecdsa')).stdout).toBe('ecdsa\n');
    await pool.close();
    expect(quiet.hostKeyQuestions).toEqual([]);
  });

  test('with only the ed25519 key recorded, ed25519 matches', async () => {
    writeFileSync(knownHosts, `${host.sshd.knownHostsLine('ed25519')}\n`);
    const quiet = scriptedInteraction({ acceptHostKey: false });
    const pool = poolFor(host.sshd, { home: host.home, interaction: quiet });
    await pool.connect('dragon');
    await pool.close();
    expect(quiet.hostKeyQuestions).toEqual([]);
  });

  test('an unknown host offers its preferred ed25519 key for confirmation', async () => {
    const interaction = scriptedInteraction({ acceptHostKey: true });
    const pool = poolFor(host.sshd, { home: host.home, interaction });
    await pool.connect('dragon');
    await pool.close();
    expect(interaction.hostKeyQuestions.map((question) => question.keyType)).toEqual(['ssh-ed25519']);
  });
});

describeWithSshd('a slow human at the host key question', () => {
  // sshd drops a login that takes longer than this; a person at 3 AM may well.
  const host = withSshd({ extraConfig: ['LoginGraceTime 1'] }, { home: 'test' });

  function slowlyAccepting(delayMs: number) {
    const interaction = scriptedInteraction({ acceptHostKey: true });
    const answer = interaction.confirmUnknownHostKey.bind(interaction);
    interaction.confirmUnknownHostKey = async (key) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return answer(key);
    };
    return interaction;
  }

  test('time spent answering does not count against the ready timeout', async () => {
    const interaction = slowlyAccepting(700);
    const pool = poolFor(host.sshd, { home: host.home, interaction, readyTimeoutMs: 400 });
    await pool.connect('dragon');
    await pool.close();
    expect(interaction.hostKeyQuestions).toHaveLength(1);
  });

  test('when sshd gave up while the human answered, the accepted key is kept and the login is tried again', async () => {
    const logStart = host.sshd.log().length;
    const interaction = slowlyAccepting(1800);
    const pool = poolFor(host.sshd, { home: host.home, interaction });
    expect((await run(pool, 'echo second try')).stdout).toBe('second try\n');
    await pool.close();
    expect(interaction.hostKeyQuestions).toHaveLength(1);
    expect(readFileSync(path.join(host.home, '.ssh', 'known_hosts'), 'utf8')).toBe(`${host.sshd.knownHostsLine()}\n`);
    // The login sshd dropped, then the one that worked.
    expect(
      host.sshd
        .log()
        .slice(logStart)
        .match(/^Connection from /gm),
    ).toHaveLength(2);
  });
});
