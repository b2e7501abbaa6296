// HostKeyAlias, UserKnownHostsFile, GlobalKnownHostsFile, HashKnownHosts and the @cert-authority
// and @revoked markers, against the real sshd, with files read back by the real ssh-keygen.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, expect, test } from 'vitest';
import { HostCertificateUnsupportedError, HostKeyRevokedError, isFinalLoginError } from '../../src/remote/errors.js';
import { connectTo, hostFor, rejectionOf, runOn } from '../support/connect-host.js';
import { scriptedInteraction } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { withSshd } from '../support/with-sshd.js';

describeWithSshd('known_hosts as the ssh config says', () => {
  const server = withSshd({}, { home: 'test' });

  beforeEach(() => {
    mkdirSync(path.join(server.home, '.ssh'));
  });

  const file = (name: string) => path.join(server.home, '.ssh', name);
  const write = (name: string, ...lines: string[]) => writeFileSync(file(name), lines.map((line) => `${line}\n`).join(''));
  const keygenFinds = (name: string, knownHosts: string) =>
    execFileSync('ssh-keygen', ['-F', name, '-f', knownHosts], { encoding: 'utf8' }).includes(server.sshd.hostKey().publicKey.split(' ')[1]!);

  test('HostKeyAlias: the key recorded under the alias is the one checked; [address]:port plays no part', async () => {
    write('known_hosts', `dragon-alias ${server.sshd.hostKey().publicKey}`);
    const connection = await connectTo(hostFor(server.sshd, { hostKeyAlias: 'dragon-alias' }), server.home);
    expect((await runOn(connection, 'echo alias')).stdout).toBe('alias\n');
    await connection.close();

    // Without the alias the same file knows nothing of the host.
    const asked = scriptedInteraction({ acceptHostKey: false });
    await rejectionOf(connectTo(hostFor(server.sshd), server.home, { interaction: asked }));
    expect(asked.hostKeyQuestions).toHaveLength(1);
  });

  test('HostKeyAlias: an accepted new key is recorded under the alias', async () => {
    const interaction = scriptedInteraction({ acceptHostKey: true });
    const connection = await connectTo(hostFor(server.sshd, { hostKeyAlias: 'dragon-alias' }), server.home, { interaction });
    await connection.close();
    expect(readFileSync(file('known_hosts'), 'utf8')).toBe(`dragon-alias ${server.sshd.hostKey().publicKey}\n`);
    expect(keygenFinds('dragon-alias', file('known_hosts'))).toBe(true);
  });

  test('UserKnownHostsFile and GlobalKnownHostsFile are read, and a new key goes to the first UserKnownHostsFile', async () => {
    const global = file('global_known_hosts');
    write('global_known_hosts', server.sshd.knownHostsLine());
    const host = hostFor(server.sshd, { userKnownHostsFiles: [file('mine'), file('mine2')], globalKnownHostsFiles: [global] });
    const known = await connectTo(host, server.home);
    await known.close();

    write('global_known_hosts');
    const interaction = scriptedInteraction({ acceptHostKey: true });
    const recorded = await connectTo(host, server.home, { interaction });
    await recorded.close();
    expect(interaction.hostKeyQuestions).toHaveLength(1);
    expect(readFileSync(file('mine'), 'utf8')).toBe(`${server.sshd.knownHostsLine()}\n`);
    // The default file was not touched.
    expect(() => readFileSync(file('known_hosts'))).toThrow();
  });

  test('HashKnownHosts: a new key is written hashed, found again by nightshift and by ssh-keygen', async () => {
    const host = hostFor(server.sshd, { hashKnownHosts: true });
    const interaction = scriptedInteraction({ acceptHostKey: true });
    await (await connectTo(host, server.home, { interaction })).close();
    const text = readFileSync(file('known_hosts'), 'utf8');
    expect(text).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
    expect(text).not.toContain('127.0.0.1');
    expect(keygenFinds(`[127.0.0.1]:${server.sshd.port}`, file('known_hosts'))).toBe(true);

    const again = scriptedInteraction({ acceptHostKey: false });
    await (await connectTo(host, server.home, { interaction: again })).close();
    expect(again.hostKeyQuestions).toEqual([]);
  });

  test('a host known only through @cert-authority is refused, naming the line; nothing is asked', async () => {
    write('known_hosts', `@cert-authority [127.0.0.1]:${server.sshd.port} ${server.sshd.hostKey().publicKey}`);
    const asked = scriptedInteraction({ acceptHostKey: true });
    const error = await rejectionOf(connectTo(hostFor(server.sshd), server.home, { interaction: asked }));
    expect(error).toBeInstanceOf(HostCertificateUnsupportedError);
    expect(error.message).toContain(`@cert-authority line for it (${file('known_hosts')}:1)`);
    expect(error.message).toContain('cannot check host certificates');
    expect(asked.hostKeyQuestions).toEqual([]);
    expect(isFinalLoginError(error)).toBe(true);
    expect(readFileSync(file('known_hosts'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  test('a @cert-authority line beside the recorded key does not stand in the way', async () => {
    write('known_hosts', `@cert-authority * ${server.sshd.hostKey().publicKey}`, server.sshd.knownHostsLine());
    await (await connectTo(hostFor(server.sshd), server.home)).close();
  });

  test('@revoked is honoured under a HostKeyAlias too', async () => {
    write('known_hosts', `@revoked dragon-alias ${server.sshd.hostKey().publicKey}`, `dragon-alias ${server.sshd.hostKey().publicKey}`);
    const error = await rejectionOf(connectTo(hostFor(server.sshd, { hostKeyAlias: 'dragon-alias' }), server.home));
    expect(error).toBeInstanceOf(HostKeyRevokedError);
    expect(error.message).toContain(`${file('known_hosts')}:1`);
  });
});
