// IdentitiesOnly, IdentityAgent, ForwardAgent and CertificateFile against a real sshd and real
// ssh-agents: the agent the config names is used, only the keys it allows are offered, and a
// login cut off by MaxAuthTries says so.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { AuthenticationError, CertificateUnsupportedError } from '../../src/remote/errors.js';
import { connectTo, hostFor, pinHostKey, rejectionOf, runOn } from '../support/connect-host.js';
import { SshAgent } from '../support/ssh-agent.js';
import { generateKeyPair } from '../support/ssh-keys.js';
import { makeHome, removeHome } from '../support/ssh-pool.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { withSshd } from '../support/with-sshd.js';

describeWithSshd('ssh_config agent options against OpenSSH sshd (MaxAuthTries 6)', () => {
  const server = withSshd({ extraConfig: ['MaxAuthTries 6', 'AllowAgentForwarding yes'] }, { home: 'suite' });
  /** Seven keys the server does not know, then the right one. */
  let crowded: SshAgent;
  /** Only the right key. */
  let single: SshAgent;

  beforeAll(async () => {
    pinHostKey(server.sshd, server.home);
    mkdirSync(path.join(server.home, 'a1'));
    mkdirSync(path.join(server.home, 'a2'));
    crowded = await SshAgent.start(path.join(server.home, 'a1'));
    single = await SshAgent.start(path.join(server.home, 'a2'));
    for (let index = 0; index < 7; index++) await crowded.add((await generateKeyPair(server.home, `stranger_${index}`)).privateKeyFile);
    await crowded.add(server.sshd.clientKey.privateKeyFile);
    await single.add(server.sshd.clientKey.privateKeyFile);
  });
  afterAll(async () => {
    await crowded?.stop();
    await single?.stop();
  });

  test('IdentitiesOnly: with 8 keys in the agent, only the IdentityFile key is offered, and the login succeeds', async () => {
    const connection = await connectTo(hostFor(server.sshd, { identitiesOnly: true }), server.home, { agentSocket: crowded.socket });
    expect((await runOn(connection, 'echo in')).stdout).toBe('in\n');
    await connection.close();
  });

  test("IdentitiesOnly: the agent's copy of an identity file's key is used, matched by its public key", async () => {
    // Only the .pub is on disk: the key can come from the agent alone.
    const onlyPublic = path.join(server.home, 'only_public');
    copyFileSync(server.sshd.clientKey.publicKeyFile, `${onlyPublic}.pub`);
    const connection = await connectTo(hostFor(server.sshd, { identitiesOnly: true, identityFiles: [onlyPublic] }), server.home, {
      agentSocket: crowded.socket,
    });
    expect((await runOn(connection, 'echo agent-copy')).stdout).toBe('agent-copy\n');
    await connection.close();
  });

  test('IdentitiesOnly with an IdentityFile: the default names (~/.ssh/id_ed25519) are not offered, nor their agent copies', async () => {
    const own = makeHome();
    try {
      pinHostKey(server.sshd, own);
      copyFileSync(server.sshd.clientKey.privateKeyFile, path.join(own, '.ssh', 'id_ed25519'));
      copyFileSync(server.sshd.clientKey.publicKeyFile, path.join(own, '.ssh', 'id_ed25519.pub'));
      const host = hostFor(server.sshd, { identitiesOnly: true, identityFiles: [path.join(server.home, 'stranger_0')] });
      const error = await rejectionOf(connectTo(host, own, { agentSocket: crowded.socket }));
      expect(error).toBeInstanceOf(AuthenticationError);
      // Without IdentitiesOnly the default file is tried, and it is the right key.
      await (await connectTo({ ...host, identitiesOnly: false }, own)).close();
    } finally {
      removeHome(own);
    }
  });

  test('without IdentitiesOnly, the cut-off after MaxAuthTries is named, with IdentitiesOnly as the way out', async () => {
    const error = await rejectionOf(connectTo(hostFor(server.sshd), server.home, { agentSocket: crowded.socket }));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toContain('too many attempts');
    expect(error.message).toContain('MaxAuthTries');
    expect(error.message).toContain("the agent's 8 keys");
    expect(error.message).toContain('IdentitiesOnly yes');
    expect(error.message).not.toContain('authorized_keys');
  });

  test('IdentityAgent: the socket the config names is used instead of SSH_AUTH_SOCK', async () => {
    const host = hostFor(server.sshd, { identityFiles: [], identityAgent: single.socket });
    const connection = await connectTo(host, server.home, { agentSocket: undefined });
    expect((await runOn(connection, 'echo named-agent')).stdout).toBe('named-agent\n');
    await connection.close();

    // SSH_AUTH_SOCK as the value means the environment's agent.
    const fromEnv = await connectTo(hostFor(server.sshd, { identityFiles: [], identityAgent: 'SSH_AUTH_SOCK' }), server.home, { agentSocket: single.socket });
    await fromEnv.close();
  });

  test('IdentityAgent none: no agent is asked, even with SSH_AUTH_SOCK set', async () => {
    const error = await rejectionOf(connectTo(hostFor(server.sshd, { identityFiles: [], identityAgent: 'none' }), server.home, { agentSocket: single.socket }));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toContain('IdentityAgent is none');
  });

  test('ForwardAgent: ssh-add -l on the host lists the forwarded key; without it there is no agent there', async () => {
    const host = hostFor(server.sshd, { identityFiles: [], identityAgent: single.socket, forwardAgent: true });
    const forwarded = await connectTo(host, server.home);
    const listed = await runOn(forwarded, 'ssh-add -l');
    await forwarded.close();
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toContain(server.sshd.clientKey.fingerprint);

    const plain = await connectTo({ ...host, forwardAgent: false }, server.home);
    const none = await runOn(plain, 'ssh-add -l');
    await plain.close();
    expect(none.exitCode).toBe(2);
  });

  test('CertificateFile is refused before connecting, naming the option', async () => {
    const certificate = path.join(server.home, 'id-cert.pub');
    const error = await rejectionOf(connectTo(hostFor(server.sshd, { certificateFiles: [certificate] }), server.home));
    expect(error).toBeInstanceOf(CertificateUnsupportedError);
    expect(error.message).toContain(`CertificateFile ${certificate}`);
  });
});

describeWithSshd('user certificates against an sshd trusting a user CA (TrustedUserCAKeys)', () => {
  let sshd: Sshd;
  let home: string;
  let keyFile: string;

  beforeAll(async () => {
    home = makeHome();
    const ca = await generateKeyPair(home, 'user_ca');
    const key = await generateKeyPair(home, 'id_certified');
    keyFile = key.privateKeyFile;
    sshd = await Sshd.start({ authorizeClientKey: false, extraConfig: [`TrustedUserCAKeys ${ca.publicKeyFile}`] });
    execFileSync('ssh-keygen', ['-q', '-s', ca.privateKeyFile, '-I', 'nightshift-test', '-n', sshd.user, key.publicKeyFile]);
    pinHostKey(sshd, home);
  });
  afterAll(async () => {
    await sshd?.stop();
    if (home) removeHome(home);
  });

  test('the real ssh logs in with the certificate (the setup is sound)', () => {
    const output = execFileSync(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        `UserKnownHostsFile=${home}/.ssh/known_hosts`,
        '-i',
        keyFile,
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
        'echo cert-ok',
      ],
      { encoding: 'utf8' },
    );
    expect(output).toBe('cert-ok\n');
  });

  test('CertificateFile: refused before connecting, naming the option', async () => {
    const connections = () => (sshd.log().match(/Connection from/g) ?? []).length;
    const before = connections();
    const error = await rejectionOf(connectTo(hostFor(sshd, { identityFiles: [keyFile], certificateFiles: [`${keyFile}-cert.pub`] }), home));
    expect(error).toBeInstanceOf(CertificateUnsupportedError);
    expect(error.message).toContain(`CertificateFile ${keyFile}-cert.pub`);
    expect(connections()).toBe(before);
  });

  test('a -cert.pub beside the identity file: the plain key is refused, and the error says the certificate was not offered', async () => {
    const error = await rejectionOf(connectTo(hostFor(sshd, { identityFiles: [keyFile] }), home));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toContain(`${keyFile}-cert.pub was not offered (nightshift cannot log in with certificates)`);
  });
});
