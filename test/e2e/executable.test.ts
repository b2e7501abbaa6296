// The standalone executable and its .deb (npm run build:exe), as a user without Node runs
// them: copied away from the repository, on a PATH whose only Node is the system's old one.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { converse, freshStateDir, ROOT, typedAnswer, waitForLine } from '../support/cli.js';
import { helperLoginOf, helperSshOptions, sshWithCode } from '../support/helper-ssh.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

const built = path.join(ROOT, 'build', 'nightshift');
const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
const deb = path.join(ROOT, 'build', `nightshift_${version}_${execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim()}.deb`);

const dir = mkdtempSync(path.join(tmpdir(), 'ns-exe-'));
const exe = path.join(dir, 'nightshift');
// No node_modules near it, no repository Node on PATH, a cache of its own.
const env = { HOME: dir, PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', TERM: 'dumb' };

beforeAll(() => {
  if (!existsSync(built) || statSync(built).mtimeMs < statSync(path.join(ROOT, 'dist', 'nightshift.js')).mtimeMs) {
    throw new Error(`${built} is missing or older than the bundle: npm test builds it (node scripts/build-exe.mjs)`);
  }
  copyFileSync(built, exe);
  chmodSync(exe, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the standalone executable', () => {
  it('runs on its own Node with native crypto, whatever Node the machine has', () => {
    const result = spawnSync(exe, ['--version'], { cwd: dir, env, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^nightshift ${version.replaceAll('.', '\\.')} \\(commit [0-9a-f]{12}(\\+changes)?\\)\\n`));
    expect(result.stdout).toMatch(/^ssh crypto: ssh2's native binding \(Node v2[6-9]\.\d+\.\d+\)$/m);
    expect(result.stderr).toBe('');
  });

  it('writes its native binding again when the cached copy was changed, and never loads the changed one', () => {
    const first = spawnSync(exe, ['--version'], { cwd: dir, env, encoding: 'utf8' });
    expect(first.status).toBe(0);
    const cached = execFileSync('find', [path.join(dir, '.cache', 'nightshift', 'embedded'), '-name', 'sshcrypto.node'], { encoding: 'utf8' }).trim();
    expect(cached).not.toBe('');
    writeFileSync(cached, 'not an addon');
    const again = spawnSync(exe, ['--version'], { cwd: dir, env, encoding: 'utf8' });
    expect(again.stdout).toMatch(/ssh2's native binding/);
    expect(readFileSync(cached).subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46])); // ELF again
  });

  it('runs the demo to the end in plain mode, from the runbooks it carries', async () => {
    const run = converse(['demo', '--plain'], (line) => typedAnswer(line), { ...env, NIGHTSHIFT_STATE_DIR: freshStateDir() }, [exe]);
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(/^dolphin\| /m);
    expect(text).toMatch(/run completed$/m);
  }, 120_000);

  // ssh2 tells a session channel from its commands by its class's name when a connection
  // ends; a bundle that renamed the class took the whole run down with such a helper.
  it('goes on when a helper with the right code asks for what the channel refuses (sftp) and leaves', async () => {
    const runbook = path.join(dir, 'knock.yaml');
    writeFileSync(runbook, 'name: Knock knock\nphases:\n  - name: wait\n    steps:\n      - checkpoint: Everyone has knocked\n');
    const stateDir = freshStateDir();
    const run = converse(['run', runbook, '--plain'], () => undefined, { ...env, NIGHTSHIFT_STATE_DIR: stateDir }, [exe]);
    try {
      await waitForLine(run, /Type yes to confirm/);
      const { port, code, knownHosts } = helperLoginOf(run.lines, stateDir, mkdtempSync(path.join(dir, 'helper-')));
      const sftp = await sshWithCode(
        dir,
        ['-F', '/dev/null', ...helperSshOptions(port, knownHosts), '-o', 'BatchMode=no', '-s', 'sentinel@127.0.0.1', 'sftp'],
        code,
        env,
      );
      expect(sftp.status, sftp.stderr).toBe(255);
      expect(sftp.stderr).toMatch(/subsystem request failed/);
      // Its connection is gone; the run still waits for its checkpoint and ends when told.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(run.child.exitCode, run.stderr()).toBeNull();
      run.child.stdin.write('yes\n');
      expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 60_000);
});

describeWithSshd('the standalone executable against OpenSSH sshd', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await Sshd.start();
    sshd.writeClientFiles(dir, 'target');
  });
  afterAll(() => sshd?.stop());

  it('runs a command and uploads a file over its native crypto, checking the host key', async () => {
    const payload = path.join(dir, 'payload.bin');
    writeFileSync(payload, Buffer.alloc(3 * 2 ** 20, 7));
    const dest = path.join(dir, 'remote');
    const runbook = path.join(dir, 'remote.yaml');
    writeFileSync(
      runbook,
      [
        'name: executable',
        'hosts:',
        '  target: {}',
        'phases:',
        '  - name: one',
        '    steps:',
        `      - run: mkdir -p ${dest} && echo "ready on $(uname -s)"`,
        '        host: target',
        `      - upload: ${payload}`,
        `        to: ${dest}/`,
        '        host: target',
        '',
      ].join('\n'),
    );
    const run = converse(
      ['run', '--plain', runbook, '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', path.join(dir, 'known_hosts')],
      () => undefined,
      { ...env, NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
      [exe],
    );
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    expect(run.lines.join('\n')).toContain('target| ready on Linux');
    expect(readFileSync(path.join(dest, 'payload.bin')).equals(readFileSync(payload))).toBe(true);
  }, 60_000);
});

describe('the .deb', () => {
  it('installs the executable as /usr/bin/nightshift with the runbooks, and what it installs runs', () => {
    const fields = execFileSync('dpkg-deb', ['--field', deb, 'Package', 'Version', 'Depends'], { encoding: 'utf8' });
    expect(fields).toContain('Package: nightshift');
    expect(fields).toContain(`Version: ${version}`);
    expect(fields).toContain('Depends: openssh-client');
    const root = path.join(dir, 'deb-root');
    execFileSync('dpkg-deb', ['-x', deb, root]);
    expect(existsSync(path.join(root, 'usr', 'share', 'nightshift', 'runbooks', 'gateway-swap.yaml'))).toBe(true);
    const lint = spawnSync(
      path.join(root, 'usr', 'bin', 'nightshift'),
      ['lint', path.join(root, 'usr', 'share', 'nightshift', 'runbooks', 'gateway-swap.yaml')],
      {
        env,
        encoding: 'utf8',
      },
    );
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
  });
});
