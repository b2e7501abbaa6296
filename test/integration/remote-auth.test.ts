// Login against the real sshd: ssh config aliases, identity files, encrypted keys, the
// agent, and the errors when it does not work.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { AuthenticationError, ConnectError } from '../../src/remote/errors.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { SshAgent } from '../support/ssh-agent.js';
import { generateKeyPair, type KeyPair } from '../support/ssh-keys.js';
import { makeHome, poolFor, removeHome, run, scriptedInteraction } from '../support/ssh-pool.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

describeWithSshd('login against OpenSSH sshd', () => {
  const host = withSshd({}, { home: 'test' });
  let encryptedKey: KeyPair;
  let strangerKey: KeyPair;

  beforeAll(async () => {
    encryptedKey = await generateKeyPair(host.sshd.dir, 'encrypted_key', { passphrase: 'correct horse' });
    strangerKey = await generateKeyPair(host.sshd.dir, 'stranger_key');
    await host.sshd.authorize(encryptedKey.publicLine);
  });
  beforeEach(() => {
    // Known already, so these tests are about login only.
    mkdirSync(path.join(host.home, '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(host.home, '.ssh', 'known_hosts'), `${host.sshd.knownHostsLine()}\n`);
  });

  test('an ssh config alias gives HostName, Port, User and IdentityFile', async () => {
    mkdirSync(path.join(host.home, 'keys'));
    copyFileSync(host.sshd.clientKey.privateKeyFile, path.join(host.home, 'keys', 'dragon_key'));
    writeFileSync(
      path.join(host.home, '.ssh', 'config'),
      [
        'Host dragon-old',
        '  HostName 127.0.0.1',
        `  Port ${host.sshd.port}`,
        `  User ${host.sshd.user}`,
        '  IdentityFile %d/keys/%n_key',
        '  IdentityFile ~/keys/spare_key',
        'Host *',
        '  User nobody-else',
        '',
      ].join('\n'),
    );
    const pool = poolFor(host.sshd, {
      home: host.home,
      spec: { alias: 'dragon-old', address: undefined, port: undefined, user: undefined, identityFile: undefined },
    });
    expect(await pool.resolve('dragon')).toMatchObject({
      name: 'dragon',
      address: '127.0.0.1',
      port: host.sshd.port,
      user: host.sshd.user,
      identityFiles: [path.join(host.home, 'keys', 'dragon-old_key'), path.join(host.home, 'keys', 'spare_key')],
      resolvedBy: 'ssh -G',
    });
    await pool.close();

    copyFileSync(host.sshd.clientKey.privateKeyFile, path.join(host.home, 'keys', 'dragon-old_key'));
    const again = poolFor(host.sshd, {
      home: host.home,
      spec: { alias: 'dragon-old', address: undefined, port: undefined, user: undefined, identityFile: undefined },
    });
    expect((await run(again, 'id -un')).stdout).toBe(`${host.sshd.user}\n`);
    await again.close();
    expect(host.sshd.log()).toContain(`Accepted publickey for ${host.sshd.user}`);
  });

  test('the default ~/.ssh/id_ed25519 is used when nothing else is given', async () => {
    copyFileSync(host.sshd.clientKey.privateKeyFile, path.join(host.home, '.ssh', 'id_ed25519'));
    const pool = poolFor(host.sshd, { home: host.home, spec: { identityFile: undefined } });
    expect((await run(pool, 'echo default key')).stdout).toBe('default key\n');
    await pool.close();
  });

  test('an encrypted key asks for its passphrase again after a wrong one, and only once per pool', async () => {
    const interaction = scriptedInteraction({ passphrases: ['wrong', 'correct horse'] });
    const pool = poolFor(host.sshd, { home: host.home, interaction, spec: { identityFile: encryptedKey.privateKeyFile } });
    expect((await run(pool, 'echo unlocked')).stdout).toBe('unlocked\n');
    expect(interaction.passphraseQuestions).toEqual([encryptedKey.privateKeyFile, encryptedKey.privateKeyFile]);
    // The second question says the first passphrase was wrong.
    expect(interaction.passphraseRetries).toEqual([false, true]);

    // A new connection (the old one dropped) reuses the unlocked key without asking.
    host.sshd.dropConnections();
    await waitFor(() => pool.state('dragon').state === 'failed', { what: 'dragon to become failed', timeoutMs: 5000 });
    expect((await run(pool, 'echo again')).stdout).toBe('again\n');
    expect(interaction.passphraseQuestions).toHaveLength(2);
    await pool.close();
  });

  test('a skipped passphrase skips that key and says so', async () => {
    const interaction = scriptedInteraction({ passphrases: [null] });
    const pool = poolFor(host.sshd, { home: host.home, interaction, spec: { identityFile: encryptedKey.privateKeyFile } });
    const error = await pool.connect('dragon').catch((caught: unknown) => caught);
    await pool.close();
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toContain(`${encryptedKey.privateKeyFile} was skipped (no passphrase given)`);
    expect(interaction.passphraseQuestions).toHaveLength(1);
  });

  test('three wrong passphrases give up on the key', async () => {
    const interaction = scriptedInteraction({ passphrases: ['a', 'b', 'c', 'correct horse'] });
    const pool = poolFor(host.sshd, { home: host.home, interaction, spec: { identityFile: encryptedKey.privateKeyFile } });
    const error = await pool.connect('dragon').catch((caught: unknown) => caught);
    await pool.close();
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toContain('wrong passphrase 3 times');
    expect(interaction.passphraseQuestions).toHaveLength(3);
    expect(interaction.passphraseRetries).toEqual([false, true, true]);
  });

  test('a key the server refuses gives an AuthenticationError that names it', async () => {
    const pool = poolFor(host.sshd, { home: host.home, spec: { identityFile: strangerKey.privateKeyFile } });
    const error = await pool.connect('dragon').catch((caught: unknown) => caught);
    expect(pool.state('dragon')).toMatchObject({ state: 'failed', error: (error as Error).message });
    await pool.close();
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toBe(
      `Could not log in to dragon as ${host.sshd.user} at 127.0.0.1:${host.sshd.port}: the server refused keys from ` +
        `${strangerKey.privateKeyFile}. Check that the public key is in the server's authorized_keys.`,
    );
    expect((error as AuthenticationError).tried).toEqual([strangerKey.privateKeyFile]);
  });

  test('with no agent and no key file, the error says there was nothing to offer', async () => {
    const pool = poolFor(host.sshd, { home: host.home, spec: { identityFile: undefined } });
    const error = await pool.connect('dragon').catch((caught: unknown) => caught);
    await pool.close();
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(/there was no key to offer \(SSH_AUTH_SOCK is not set; none of .*id_ed25519, .*id_ecdsa or .*id_rsa exists\)/);
  });

  describe('with a real ssh-agent', () => {
    let agentDir: string;
    let agent: SshAgent;

    beforeAll(async () => {
      agentDir = mkdtempSync(path.join(tmpdir(), 'ns-agent-'));
      agent = await SshAgent.start(agentDir);
      await agent.add(host.sshd.clientKey.privateKeyFile);
    });
    afterAll(async () => {
      await agent?.stop();
      rmSync(agentDir, { recursive: true, force: true });
    });

    test('the agent logs in, before any identity file is tried', async () => {
      const interaction = scriptedInteraction();
      const pool = poolFor(host.sshd, {
        home: host.home,
        interaction,
        env: { HOME: host.home, SSH_AUTH_SOCK: agent.socket },
        // Would need a passphrase: never asked because the agent comes first.
        spec: { identityFile: encryptedKey.privateKeyFile },
      });
      expect((await run(pool, 'echo via agent')).stdout).toBe('via agent\n');
      await pool.close();
      expect(interaction.passphraseQuestions).toEqual([]);
    });

    test('when the agent key is refused too, both are named', async () => {
      const refusing = await Sshd.start({ authorizeClientKey: false });
      try {
        const refusingHome = makeHome();
        const pool = poolFor(refusing, {
          home: refusingHome,
          env: { HOME: refusingHome, SSH_AUTH_SOCK: agent.socket },
          spec: { identityFile: strangerKey.privateKeyFile },
        });
        const error = await pool.connect('dragon').catch((caught: unknown) => caught);
        await pool.close();
        removeHome(refusingHome);
        expect(error).toBeInstanceOf(AuthenticationError);
        expect((error as Error).message).toContain(`the server refused keys from the agent and ${strangerKey.privateKeyFile}.`);
      } finally {
        await refusing.stop();
      }
    });
  });

  test('a server that takes no public keys says so', async () => {
    const passwordOnly = await Sshd.start({ extraConfig: ['PubkeyAuthentication no', 'PasswordAuthentication yes'] });
    try {
      writeFileSync(path.join(host.home, '.ssh', 'known_hosts'), `${passwordOnly.knownHostsLine()}\n`);
      const pool = poolFor(passwordOnly, { home: host.home });
      const error = await pool.connect('dragon').catch((caught: unknown) => caught);
      await pool.close();
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as Error).message).toBe(
        `Could not log in to dragon as ${passwordOnly.user} at 127.0.0.1:${passwordOnly.port}: the server does not accept ` +
          `public keys (it offers password). Enable PubkeyAuthentication for ${passwordOnly.user} on the server.`,
      );
    } finally {
      await passwordOnly.stop();
    }
  });

  test('an unreachable agent is noted and the identity file still works', async () => {
    const pool = poolFor(host.sshd, { home: host.home, env: { HOME: host.home, SSH_AUTH_SOCK: path.join(host.home, 'no-agent.sock') } });
    expect((await run(pool, 'echo fine')).stdout).toBe('fine\n');
    await pool.close();
  });
});

// sshd says at DEBUG2 whether a public key request only asks ("querying") or is signed ("attempting").
const QUERYING = /userauth_pubkey: \S+ user \S+ querying public key/;
const ATTEMPTING = /userauth_pubkey: \S+ user \S+ attempting public key/;

describeWithSshd('a key file logs in with one request, not a question first', () => {
  const host = withSshd({ extraConfig: ['LogLevel DEBUG2'] }, { home: 'test' });
  let strangerKey: KeyPair;

  beforeAll(async () => {
    strangerKey = await generateKeyPair(host.sshd.dir, 'stranger_key');
  });
  beforeEach(() => {
    mkdirSync(path.join(host.home, '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(host.home, '.ssh', 'known_hosts'), `${host.sshd.knownHostsLine()}\n`);
  });

  test('the first request of a key file is signed: the round trip of the question is saved', async () => {
    const before = host.sshd.log().length;
    const pool = poolFor(host.sshd, { home: host.home });
    expect((await run(pool, 'echo signed')).stdout).toBe('signed\n');
    await pool.close();
    await waitFor(() => ATTEMPTING.test(host.sshd.log().slice(before)), { what: 'sshd logging the signed request' });
    expect(host.sshd.log().slice(before)).not.toMatch(QUERYING);
  });

  test('a key file the server refuses is still refused, and named', async () => {
    const pool = poolFor(host.sshd, { home: host.home, spec: { identityFile: strangerKey.privateKeyFile } });
    const error = await pool.connect('dragon').catch((caught: unknown) => caught);
    await pool.close();
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).tried).toEqual([strangerKey.privateKeyFile]);
  });

  test("an agent's key is still asked about before it signs (signing may ask its owner)", async () => {
    const agentDir = mkdtempSync(path.join(tmpdir(), 'ns-agent-'));
    const agent = await SshAgent.start(agentDir);
    try {
      await agent.add(host.sshd.clientKey.privateKeyFile);
      const before = host.sshd.log().length;
      const pool = poolFor(host.sshd, { home: host.home, env: { HOME: host.home, SSH_AUTH_SOCK: agent.socket } });
      expect((await run(pool, 'echo via agent')).stdout).toBe('via agent\n');
      await pool.close();
      await waitFor(() => ATTEMPTING.test(host.sshd.log().slice(before)), { what: 'sshd logging the signed request' });
      expect(host.sshd.log().slice(before)).toMatch(QUERYING);
    } finally {
      await agent.stop();
      rmSync(agentDir, { recursive: true, force: true });
    }
  });
});

describeWithSshd('connection failures', () => {
  let home: string;
  let silent: Server;

  beforeAll(async () => {
    home = makeHome();
    // Accepts TCP and never speaks SSH.
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    silent.close();
    removeHome(home);
  });

  test('a closed port is a ConnectError that says the connection was refused', async () => {
    const sshd = await Sshd.start();
    const port = sshd.port;
    await sshd.stop();
    const pool = poolFor(sshd, { home });
    const error = await pool.connect('dragon').catch((caught: unknown) => caught);
    await pool.close();
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toBe(
      `Could not connect to dragon at 127.0.0.1:${port}: the connection was refused. ` + `Check that the machine is up and that sshd listens on port ${port}.`,
    );
  });

  test('a server that never answers runs into the ready timeout', async () => {
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const fake = { address: '127.0.0.1', port, user: 'nobody', clientKey: { privateKeyFile: '/nonexistent' } } as unknown as Sshd;
    const pool = poolFor(fake, { home, readyTimeoutMs: 500 });
    const started = Date.now();
    const error = await pool.connect('dragon').catch((caught: unknown) => caught);
    await pool.close();
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toContain('no SSH login within 0.5 s');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
