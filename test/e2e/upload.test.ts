// An upload step run by the built binary against the real sshd, through a link that is cut
// in the middle: the upload resumes instead of restarting, and the file on the target is
// the same as the local one.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { converse, freshStateDir } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';

const SIZE = 24 * 1024 * 1024;

describeWithSshd('nightshift run with an upload step over a link that is cut', () => {
  let sshd: Sshd;
  let relay: TcpRelay;
  let dir: string;

  beforeAll(async () => {
    sshd = await Sshd.start();
    relay = await TcpRelay.start(sshd.port);
    dir = mkdtempSync(path.join(tmpdir(), 'ns-upload-'));
    writeFileSync(path.join(dir, 'root.tar'), randomBytes(SIZE));
    writeFileSync(
      path.join(dir, 'ssh_config'),
      `Host target\n  HostName 127.0.0.1\n  Port ${relay.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.clientKey.privateKeyFile}\n`,
    );
    writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${relay.port} ${sshd.hostKey('ed25519').publicKey}\n`);
    writeFileSync(
      path.join(dir, 'upload.yaml'),
      `name: upload\nhosts:\n  target: {}\nvars:\n  dest: ${path.join(dir, 'remote')}/\nphases:\n  - name: copy\n    steps:\n      - run: mkdir -p {{ dest }}\n        host: target\n      - upload: root.tar\n        to: "{{ dest }}"\n        host: target\n        mode: "640"\n`,
    );
  });
  afterAll(async () => {
    await relay?.close();
    await sshd?.stop();
  });

  it('resumes after the cut, verifies the sha256 on the host, and shows progress', async () => {
    let cutArmed = false;
    const run = converse(
      ['run', '--plain', path.join(dir, 'upload.yaml'), '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', path.join(dir, 'known_hosts')],
      (line) => {
        // Once sending has begun, let about a third of the file through, then cut the link.
        if (!cutArmed && /nightshift: sending /.test(line)) {
          cutArmed = true;
          relay.cutAfterBytes(SIZE / 3, 'toServer');
        }
        return /Answer retry/.test(line) ? 'pause' : undefined;
      },
      { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
    );
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(/nightshift: hashing /);
    expect(text).toMatch(/nightshift: sending \d+% \(/);
    expect(text).toMatch(/the link to target dropped during the upload; reconnecting to resume it/);
    expect(text).toMatch(/, resumed after \d/);
    const local = createHash('sha256').update(readFileSync(path.join(dir, 'root.tar'))).digest('hex');
    expect(text).toContain(`sha256 ${local} verified on the host`);
    const remote = readFileSync(path.join(dir, 'remote', 'root.tar'));
    expect(createHash('sha256').update(remote).digest('hex')).toBe(local);
  }, 120_000);
});
