// Host key verification has no off switch: the ssh config settings that turn it off for
// OpenSSH's client (StrictHostKeyChecking no, UserKnownHostsFile /dev/null) change nothing
// for the built binary against the real sshd. It reads ~/.ssh/config and ~/.ssh/known_hosts
// of a HOME made for the test.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { converse, freshStateDir } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

describeWithSshd('host key verification cannot be switched off in the ssh config', () => {
  let sshd: Sshd;
  let home: string;
  let runbook: string;

  beforeAll(async () => {
    sshd = await Sshd.start();
    home = mkdtempSync(path.join(tmpdir(), 'ns-home-'));
    mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(
      path.join(home, '.ssh', 'config'),
      [
        'Host target',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        `  User ${sshd.user}`,
        `  IdentityFile ${sshd.clientKey.privateKeyFile}`,
        '  StrictHostKeyChecking no',
        '  UserKnownHostsFile /dev/null',
        'Host *',
        '  StrictHostKeyChecking no',
        '  UserKnownHostsFile /dev/null',
        '  GlobalKnownHostsFile /dev/null',
        '',
      ].join('\n'),
    );
    runbook = path.join(home, 'login.yaml');
    writeFileSync(runbook, 'name: login\nhosts:\n  target: {}\nphases:\n  - name: login\n    steps:\n      - run: echo logged in\n        host: target\n');
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  const run = (answer: (line: string) => string | undefined) =>
    // --no-check: the refusal when a step logs in is what is tested, not the check before the run.
    converse(['run', '--plain', '--no-check', runbook], (line) => answer(line) ?? (/Answer retry/.test(line) ? 'pause' : undefined), {
      HOME: home,
      NIGHTSHIFT_STATE_DIR: freshStateDir(),
      SSH_AUTH_SOCK: '',
    });

  it('an unknown host is still asked about, and refused when not confirmed', async () => {
    const knownHosts = path.join(home, '.ssh', 'known_hosts');
    writeFileSync(knownHosts, '');
    const refused = run((line) => (/Type yes to trust and record it/.test(line) ? 'no' : undefined));
    expect(await refused.exited, refused.lines.join('\n') + refused.stderr()).toBe(4);
    const text = refused.lines.join('\n');
    expect(text).toContain(`Its ssh-ed25519 key fingerprint is ${sshd.hostKey().fingerprint}`);
    expect(text).not.toMatch(/target\| logged in/);
    expect(readFileSync(knownHosts, 'utf8')).toBe('');
  }, 60_000);

  it('a changed host key is refused, showing both fingerprints, though the config says StrictHostKeyChecking no', async () => {
    const knownHosts = path.join(home, '.ssh', 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`);
    // The recorded key is the one the config logs in with: the run goes through.
    const before = run(() => undefined);
    expect(await before.exited, before.lines.join('\n') + before.stderr()).toBe(0);
    expect(before.lines.join('\n')).toMatch(/target\| logged in/);

    const old = sshd.hostKey();
    const fresh = await sshd.replaceHostKey();
    let asked = false;
    const after = run((line) => {
      if (/Type yes/.test(line)) asked = true;
      return undefined;
    });
    expect(await after.exited, after.lines.join('\n') + after.stderr()).toBe(4);
    const text = after.lines.join('\n');
    expect(text).toMatch(/FAILED 1\.1 echo logged in .*: The host key of target \(127\.0\.0\.1:\d+\) does not match/);
    expect(text).toContain(`known_hosts has ${old.fingerprint}`);
    expect(text).toContain(`the server sent ${fresh.fingerprint}`);
    expect(text).toMatch(/Refusing to connect/);
    expect(text).not.toMatch(/target\| logged in/);
    expect(asked).toBe(false);
    expect(readFileSync(knownHosts, 'utf8')).toBe(`${sshd.knownHostsLine().replace(fresh.publicKey, old.publicKey)}\n`);
  }, 60_000);
});
