// The login's first request sent right behind the request for the login service
// (askLoginWithServiceRequest in src/remote/ssh2.ts), against the real sshd: OpenSSH takes it
// before its answer has come back; a server that is not OpenSSH is asked only after it.
import { readFileSync } from 'node:fs';
import type { Client, ParsedKey } from 'ssh2';
import { afterEach, expect, it } from 'vitest';
import { askLoginWithServiceRequest, signKeyFilesAtOnce, ssh2 } from '../../src/remote/ssh2.js';
import { describeWithSshd } from '../support/sshd.js';
import { withSshd } from '../support/with-sshd.js';

const clients: Client[] = [];
const closers: Array<() => void> = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.end();
  for (const close of closers.splice(0)) close();
});

/** Logs in with the key file, as ssh2 reports each message it sends and reads; resolves with those lines once logged in. */
function logIn(port: number, username: string, privateKey: Buffer, ask: boolean): Promise<string[]> {
  const lines: string[] = [];
  const client = new (ssh2().Client)();
  clients.push(client);
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve(lines));
    client.once('error', reject);
    client.connect({
      host: '127.0.0.1',
      port,
      username,
      privateKey,
      hostVerifier: () => true,
      readyTimeout: 10_000,
      debug: (line) => lines.push(line),
    });
    signKeyFilesAtOnce(client);
    if (ask) askLoginWithServiceRequest(client);
  });
}

const sentLogin = (lines: string[]) => lines.findIndex((line) => /Outbound: Sending USERAUTH_REQUEST/.test(line));
const heardService = (lines: string[]) => lines.findIndex((line) => /Inbound: Received SERVICE_ACCEPT/.test(line));

describeWithSshd('the first login request with the service request', () => {
  const host = withSshd({}, { home: 'test' });

  it('goes to OpenSSH before the service is accepted, and logs in', async () => {
    const lines = await logIn(host.sshd.port, host.sshd.user, readFileSync(host.sshd.clientKey.privateKeyFile), true);
    expect(sentLogin(lines)).toBeGreaterThan(-1);
    expect(heardService(lines)).toBeGreaterThan(sentLogin(lines));
  });

  it('waits for the answer as ssh2 does without it (the comparison above can fail)', async () => {
    const lines = await logIn(host.sshd.port, host.sshd.user, readFileSync(host.sshd.clientKey.privateKeyFile), false);
    expect(heardService(lines)).toBeGreaterThan(-1);
    expect(sentLogin(lines)).toBeGreaterThan(heardService(lines));
  });
});

it('waits for the answer of a server that is not OpenSSH', async () => {
  const { utils, Server } = ssh2();
  const hostKey = utils.generateKeyPairSync('ed25519');
  const userKey = utils.generateKeyPairSync('ed25519');
  const accepted = utils.parseKey(userKey.public) as ParsedKey;
  const server = new Server({ hostKeys: [hostKey.private], ident: 'other_1.0' }, (connection) => {
    connection.on('authentication', (context) => {
      if (context.method === 'publickey' && context.key.algo === accepted.type && context.key.data.equals(accepted.getPublicSSH())) return context.accept();
      context.reject(['publickey']);
    });
    connection.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  const lines = await logIn((server.address() as { port: number }).port, 'someone', Buffer.from(userKey.private), true);
  expect(heardService(lines)).toBeGreaterThan(-1);
  expect(sentLogin(lines)).toBeGreaterThan(heardService(lines));
});
