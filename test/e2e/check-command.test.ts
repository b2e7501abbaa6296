// nightshift check and the check before a run's first step, by the built binary against
// real sshds: a healthy host, a host whose port refuses connections, and a host whose sshd
// has no SFTP subsystem while the runbook uploads to it.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { converse, freshStateDir } from '../support/cli.js';
import { describeWithSshd, freePort, Sshd } from '../support/sshd.js';

const env = () => ({ NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' });

describeWithSshd('nightshift check', () => {
  let healthy: Sshd;
  let noSftp: Sshd;
  let dir: string;
  let config: string;
  let knownHosts: string;
  let refusedPort: number;

  beforeAll(async () => {
    [healthy, noSftp] = await Promise.all([Sshd.start(), Sshd.start()]);
    // The harness always enables sftp-server; this server has no Subsystem line at all.
    writeFileSync(noSftp.configFile, readFileSync(noSftp.configFile, 'utf8').replace(/^Subsystem sftp .*$/m, ''));
    await noSftp.restart();
    refusedPort = await freePort();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-check-'));
    config = path.join(dir, 'ssh_config');
    writeFileSync(
      config,
      [
        healthy.clientConfig('healthy'),
        noSftp.clientConfig('nosftp'),
        `Host gone\n  HostName 127.0.0.1\n  Port ${refusedPort}\n  User ${healthy.user}\n  IdentityFile ${healthy.clientKey.privateKeyFile}\n`,
        // Reached only through the healthy host (sshd forwards to its own loopback).
        `Host behind\n  HostName 127.0.0.1\n  Port ${noSftp.port}\n  User ${noSftp.user}\n  IdentityFile ${noSftp.clientKey.privateKeyFile}\n  ProxyJump healthy\n`,
      ].join('\n'),
    );
    knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${healthy.knownHostsLine()}\n${noSftp.knownHostsLine()}\n`);
    writeFileSync(path.join(dir, 'payload.txt'), 'payload\n');
  });
  afterAll(async () => {
    await Promise.all([healthy?.stop(), noSftp?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function runbook(name: string, hosts: string[], steps: string[]): string {
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      [
        `name: ${name}`,
        'hosts:',
        ...hosts.map((host) => `  ${host}: {}`),
        'phases:',
        '  - name: only',
        '    steps:',
        ...steps.map((line) => `      ${line.replace('UPLOAD_SOURCE', path.join(dir, 'payload.txt'))}`),
        '',
      ].join('\n'),
    );
    return file;
  }

  async function nightshift(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const run = converse(args, () => undefined, env());
    run.child.stdin.end();
    // Not `exited`: the last lines may come after the exit event.
    const code = await run.closed;
    return { code, stdout: run.lines.join('\n'), stderr: run.stderr() };
  }

  const uploadSteps = [
    '- title: the healthy host answers',
    '  host: healthy',
    '  run: hostname',
    '  check: grep -q . /etc/hostname && test -r /etc/passwd',
    '- title: send the payload',
    '  host: nosftp',
    '  upload: UPLOAD_SOURCE',
    `  to: /tmp/`,
  ];

  /** The table row of `host`: its marks in column order. */
  function row(stdout: string, host: string): string[] {
    const line = stdout.split('\n').find((candidate) => new RegExp(`^  ${host}\\s+[✓✗–]`).test(candidate));
    if (!line) throw new Error(`no row for ${host} in:\n${stdout}`);
    return line.trim().split(/\s+/).slice(1);
  }

  it('a healthy host, a refused port and a server without SFTP: the table says which, and exit status 1', async () => {
    const file = runbook('three-hosts', ['healthy', 'nosftp', 'gone'], [...uploadSteps, '- run: hostname', '  host: gone']);
    const result = await nightshift(['check', file, '--ssh-config', config, '--known-hosts', knownHosts]);
    const shown = `${result.stdout}\n${result.stderr}`;
    expect(result.code, shown).toBe(1);
    expect(result.stdout).toMatch(/HOST\s+login\s+sh\s+sftp\s+sha256\s+setsid\s+systemd\s+sudo\s+run folder\s+tools/);
    // login sh sftp sha256 setsid systemd sudo run-folder tools
    const good = row(result.stdout, 'healthy');
    expect(good.slice(0, 2), shown).toEqual(['✓', '✓']);
    expect(good[2], 'no uploads to healthy: sftp not needed').toBe('–');
    expect(good[4], 'the step is detached: setsid').toBe('✓');
    expect(good[7], 'run folder').toBe('✓');
    expect(good[8], 'the check calls grep and test: grep is found').toBe('✓');
    expect(good, shown).not.toContain('✗');
    const plain = row(result.stdout, 'nosftp');
    expect(plain.slice(0, 2), shown).toEqual(['✓', '✓']);
    expect(plain[2], 'sftp: missing, uploads fall back').toBe('–');
    expect(plain[3], 'sha256 tool for the upload').toBe('✓');
    expect(plain, shown).not.toContain('✗');
    const unreachable = row(result.stdout, 'gone');
    expect(unreachable[0], shown).toBe('✗');
    expect(result.stdout).toMatch(/✗ gone login: .*(refused|ECONNREFUSED)/i);
    expect(result.stdout).toMatch(/– nosftp sftp: no: uploads will go over a shell stream/);
    expect(result.stdout).toMatch(new RegExp(`healthy\\s+${healthy.user}@127\\.0\\.0\\.1:${healthy.port}`));
    expect(result.stdout).toMatch(new RegExp(`gone\\s+${healthy.user}@127\\.0\\.0\\.1:${refusedPort}`));
  }, 60_000);

  it('every needed thing there, a host behind a jump host included: exit status 0, and --json prints one document that says so', async () => {
    const file = runbook('two-hosts', ['healthy', 'nosftp', 'behind'], uploadSteps);
    const text = await nightshift(['check', file, '--ssh-config', config, '--known-hosts', knownHosts]);
    expect(text.code, `${text.stdout}\n${text.stderr}`).toBe(0);
    expect(text.stdout).toMatch(/Every host has what the runbook needs/);
    expect(text.stdout).toMatch(new RegExp(`behind\\s+${noSftp.user}@127\\.0\\.0\\.1:${noSftp.port} · via healthy`));
    expect(row(text.stdout, 'behind').slice(0, 2)).toEqual(['✓', '✓']);
    const json = await nightshift(['check', '--json', file, '--ssh-config', config, '--known-hosts', knownHosts]);
    expect(json.code, json.stderr).toBe(0);
    const document = JSON.parse(json.stdout) as {
      ok: boolean;
      hosts: Array<{ host: string; verdicts: Record<string, { mark: string; text: string }>; facts: { sha256Tool: string | null } | null }>;
    };
    expect(document.ok).toBe(true);
    const nosftp = document.hosts.find((host) => host.host === 'nosftp')!;
    expect(nosftp.verdicts['sftp']!.mark).toBe('none');
    expect(nosftp.verdicts['sftp']!.text).toMatch(/shell stream/);
    expect(nosftp.facts?.sha256Tool).toBeTruthy();
    const good = document.hosts.find((host) => host.host === 'healthy')!;
    expect(good.verdicts['tools']!.text).toBe('grep');
  }, 60_000);

  it('an unknown host key is asked about as in a run: recorded when confirmed, a failed login when not', async () => {
    const file = runbook('unknown-key', ['healthy'], ['- run: hostname', '  host: healthy']);
    const refusedKnown = path.join(dir, 'known_hosts.refused');
    writeFileSync(refusedKnown, '');
    const refused = converse(
      ['check', file, '--ssh-config', config, '--known-hosts', refusedKnown],
      (line) => (/Type yes to trust/.test(line) ? 'no' : undefined),
      env(),
    );
    expect(await refused.exited, refused.lines.join('\n')).toBe(1);
    expect(refused.lines.join('\n')).toMatch(/✗ healthy login: The host key of healthy .* was not accepted/);
    expect(readFileSync(refusedKnown, 'utf8')).toBe('');

    const trustedKnown = path.join(dir, 'known_hosts.trusted');
    writeFileSync(trustedKnown, '');
    const asked: string[] = [];
    const trusted = converse(
      ['check', file, '--ssh-config', config, '--known-hosts', trustedKnown],
      (line) => {
        if (!/Type yes to trust/.test(line)) return undefined;
        asked.push(line);
        return 'yes';
      },
      env(),
    );
    expect(await trusted.exited, trusted.lines.join('\n')).toBe(0);
    expect(asked).toHaveLength(1);
    expect(trusted.lines.join('\n')).toContain(healthy.hostKey('ed25519').fingerprint);
    expect(readFileSync(trustedKnown, 'utf8')).toContain(healthy.hostKey('ed25519').publicKey.split(' ')[1]!);
  }, 60_000);

  it('a check calling a tool the host lacks: ✗ tools, named', async () => {
    const file = runbook('missing-tool', ['healthy'], ['- run: hostname', '  host: healthy', '  check: no-such-tool-here --version']);
    const result = await nightshift(['check', file, '--ssh-config', config, '--known-hosts', knownHosts]);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stdout).toMatch(/✗ healthy tools: not found on its PATH: no-such-tool-here/);
  }, 60_000);

  it('a runbook that does not load: exit status 2, the problem named', async () => {
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'name: broken\nphases: 7\n');
    const result = await nightshift(['check', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/broken\.yaml:\d+:\d+/);
  });

  it('run stops before step 1 when a host is unreachable: step 1 (on the healthy host) never ran', async () => {
    const marker = path.join(dir, 'step-1-ran');
    // gone is used by no step: the check logs in to every host all the same.
    const file = runbook('stops', ['healthy', 'gone'], [`- run: touch ${marker}`, '  host: healthy']);
    const result = await nightshift(['run', '--plain', file, '--ssh-config', config, '--known-hosts', knownHosts]);
    const shown = `${result.stdout}\n${result.stderr}`;
    expect(result.code, shown).toBe(1);
    expect(result.stdout).toMatch(/✗ gone login/);
    expect(result.stderr).toMatch(/the check before the first step failed/);
    expect(shown).not.toMatch(/1\.1/);
    // The healthy host is this machine's sshd: its file system is ours.
    expect(existsSync(marker)).toBe(false);

    const unchecked = await nightshift(['run', '--plain', '--no-check', file, '--ssh-config', config, '--known-hosts', knownHosts]);
    expect(existsSync(marker), `${unchecked.stdout}\n${unchecked.stderr}`).toBe(true);
  }, 90_000);
});
