// A spare way in to a host reached through a ProxyCommand (the lab's gateway is, from the
// provider's side): the spare login runs the command for the spare's port, not the main one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { HostPool } from '../../src/remote/host-pool.js';
import { makeHome, removeHome, run, scriptedInteraction } from '../support/ssh-pool.js';
import { describeWithSshd, freePort, Sshd } from '../support/sshd.js';

describeWithSshd('a spare way in behind a ProxyCommand', () => {
  let sshd: Sshd;
  let dir: string;
  let home: string;
  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-spare-proxy-'));
    home = makeHome();
  });
  afterAll(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (home) removeHome(home);
  });

  test('when the main port does not answer, the login goes to the spare port through the same command, checked against the main name; so does a jump through it', async () => {
    const closed = await freePort();
    const configFile = path.join(dir, 'config');
    writeFileSync(
      configFile,
      [
        'Host gw',
        '  HostName 127.0.0.1',
        `  Port ${closed}`,
        `  User ${sshd.user}`,
        `  IdentityFile ${sshd.clientKey.privateKeyFile}`,
        '  IdentitiesOnly yes',
        '  ProxyCommand exec nc %h %p',
        '',
      ].join('\n'),
    );
    // The spare serves the machine's own key, pinned under the main port's name only.
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine(undefined, closed)}\n`);
    // inner: the same sshd reached through gw, as the machines behind a gateway are.
    writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`, { flag: 'a' });
    const pool = new HostPool(
      {
        gw: { name: 'gw', alias: 'gw' },
        inner: {
          name: 'inner',
          alias: 'inner',
          address: '127.0.0.1',
          port: sshd.port,
          user: sshd.user,
          identityFile: sshd.clientKey.privateKeyFile,
          proxyJump: 'gw',
        },
      },
      {
        sshConfigFile: configFile,
        knownHostsFiles: [knownHosts],
        env: { HOME: home },
        readyTimeoutMs: 10_000,
        interaction: scriptedInteraction({ acceptHostKey: false }),
      },
    );
    try {
      pool.setSpare('gw', sshd.port);
      const result = await run(pool, 'echo "through $SSH_CONNECTION"', 'gw');
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^through 127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${sshd.port}\\n$`));
      // Once gw's main port was found silent, a jump through gw goes to its spare too.
      const behind = await run(pool, 'echo behind', 'inner');
      expect(behind.exitCode, behind.stderr).toBe(0);
      expect(behind.stdout).toBe('behind\n');
    } finally {
      await pool.close();
    }
  });
});
