// ProxyCommand against the real sshd: nc, and the real ssh client's -W through a jump login;
// the command's stderr in the error when it fails, and the command ended with the connection.
import { execFileSync } from 'node:child_process';
import { beforeAll, expect, test } from 'vitest';
import { ConnectError } from '../../src/remote/errors.js';
import { connectTo, hostFor, pinHostKey, rejectionOf, runOn } from '../support/connect-host.js';
import { describeWithSshd } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';
import { withSshd } from '../support/with-sshd.js';

/** Process ids whose command line contains `text` (pgrep -f). */
function processesWith(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', '--', text], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Waits until no process has `text` in its command line (3 s at most). */
function gone(text: string): Promise<void> {
  return waitFor(() => processesWith(text).length === 0, { what: `no process with "${text}" in its command line`, timeoutMs: 3000, intervalMs: 50 });
}

describeWithSshd('ProxyCommand against OpenSSH sshd', () => {
  const host = withSshd({}, { home: 'suite' });

  beforeAll(async () => {
    pinHostKey(host.sshd, host.home);
  });

  test('nc %h %p is the transport (tokens expanded), and it is ended when the connection closes', async () => {
    const connection = await connectTo(hostFor(host.sshd, { proxyCommand: 'exec nc %h %p' }), host.home);
    expect((await runOn(connection, 'echo "$SSH_CONNECTION"')).stdout).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
    const marker = `nc 127.0.0.1 ${host.sshd.port}`;
    expect(processesWith(marker)).toHaveLength(1);
    await connection.close();
    await gone(marker);
  });

  test("the real ssh client's -W through a jump login to the same sshd", async () => {
    const jump = [
      'ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes',
      `-o UserKnownHostsFile=${host.home}/.ssh/known_hosts -i ${host.sshd.clientKey.privateKeyFile}`,
      `-p ${host.sshd.port} ${host.sshd.user}@127.0.0.1 -W %h:%p`,
    ].join(' ');
    const before = (host.sshd.log().match(/Accepted publickey/g) ?? []).length;
    const connection = await connectTo(hostFor(host.sshd, { proxyCommand: jump }), host.home);
    expect((await runOn(connection, 'echo through-jump')).stdout).toBe('through-jump\n');
    await connection.close();
    // Two logins: ssh's to the jump, then nightshift's through it.
    expect((host.sshd.log().match(/Accepted publickey/g) ?? []).length - before).toBe(2);
    await gone(`-W 127.0.0.1:${host.sshd.port}`);
  });

  test('a ProxyCommand that fails: its exit code and what it said are the error', async () => {
    const error = await rejectionOf(connectTo(hostFor(host.sshd, { proxyCommand: 'echo "no route to dragon" >&2; exit 3' }), host.home));
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.message).toContain('its ProxyCommand (echo "no route to dragon" >&2; exit 3) exited with code 3, saying: no route to dragon');
    expect(error.message).toContain('Check the ProxyCommand');
  });

  test('ProxyCommand none connects directly', async () => {
    const connection = await connectTo(hostFor(host.sshd, { proxyCommand: 'none' }), host.home);
    await connection.close();
  });
});
