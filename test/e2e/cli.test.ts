// The built binary's commands as a user types them: exit statuses, messages, formats.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, converse, freshStateDir, ROOT } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

function nightshift(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    input: options.input ?? '',
    env: { ...process.env, ...options.env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const dir = mkdtempSync(path.join(tmpdir(), 'ns-cli-'));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe('nightshift --version', () => {
  it('names the version, the commit built, and the crypto path ssh2 takes: its native binding, built for the runtime', () => {
    const result = nightshift(['--version']);
    expect(result.code).toBe(0);
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const [first, second] = result.stdout.split('\n');
    expect(first).toMatch(new RegExp(`^nightshift ${version.replaceAll('.', '\\.')} \\(commit ${head}(\\+changes)?\\)$`));
    expect(second).toBe(`ssh crypto: ssh2's native binding (Node ${process.version})`);
  });
});

describe('nightshift lint', () => {
  it('passes a clean runbook with exit 0', () => {
    const result = nightshift(['lint', 'runbooks/demo-gateway-swap.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^runbooks\/demo-gateway-swap\.yaml: ok \(\d+ phases, \d+ steps, \d+ fallback steps\)$/m);
  });

  it('passes every shipped runbook and its rehearsal lab, as `lint runbooks/*.yaml` finds them', () => {
    const files = readdirSync(path.join(ROOT, 'runbooks'))
      .filter((name) => name.endsWith('.yaml'))
      .map((name) => `runbooks/${name}`);
    expect(files.some((file) => file.endsWith('.lab.yaml'))).toBe(true);
    const result = nightshift(['lint', ...files]);
    expect(result.stdout.split('\n').filter(Boolean)).toEqual(
      files.map((file) => expect.stringMatching(new RegExp(`^${file.replaceAll('.', '\\.')}: ok \\(`))),
    );
    expect(result.code).toBe(0);
  });

  it('rejects a broken runbook with file:line:col sentences and exit 1', () => {
    const file = write(
      'broken.yaml',
      'name: broken\nhosts:\n  dragon: {}\nphases:\n  - name: one\n    steps:\n      - run: reboot\n        hots: dragon\n      - checkpoint: cable\n        by: sentinal\n',
    );
    const result = nightshift(['lint', file]);
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n')).toEqual([
      `${file}:8:9: unknown key 'hots' in step 1.1; did you mean 'host'?`,
      `${file}:10:13: 'by' of step 1.2 must be one of upgrader, sentinel, both, not 'sentinal'`,
    ]);
  });

  it('names a missing file plainly', () => {
    const result = nightshift(['lint', 'no/such.yaml']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('no/such.yaml:1:1: cannot read the runbook: no such file\n');
  });
});

describe('nightshift plan, schema, help', () => {
  it('prints the numbered checklist, and the same as JSON', () => {
    const text = nightshift(['plan', 'runbooks/demo-gateway-swap.yaml']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Phase 1: /m);
    expect(text.stdout).toMatch(/\[ \] 2\.1 +dolphin .*DESTRUCTIVE, type "disk0\.img" to run/);
    const json = JSON.parse(nightshift(['plan', '--json', 'runbooks/demo-gateway-swap.yaml']).stdout);
    expect(json.phases[1].steps[0]).toMatchObject({ number: '2.1', who: 'dolphin', destructive: true, typeToConfirm: 'disk0.img' });
  });

  it('prints the JSON Schema that is published in the repository', () => {
    const printed = JSON.parse(nightshift(['schema']).stdout);
    expect(printed).toEqual(JSON.parse(readFileSync(path.join(ROOT, 'schema/runbook.schema.json'), 'utf8')));
  });

  it('explains usage mistakes with exit 2, and each command with --help', () => {
    const unknown = nightshift(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('nightshift: unknown command "frobnicate"\nRun nightshift --help for usage.\n');
    expect(nightshift(['run']).code).toBe(2);
    expect(nightshift(['run', 'x.yaml', '--var', 'novalue']).stderr).toContain('--var takes NAME=VALUE');
    const help = nightshift(['run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--known-hosts FILE');
    expect(nightshift(['--help']).stdout).toContain('nightshift demo');
  });

  // The machines' own Node is older than the one the project carries: the launcher must
  // say so instead of failing somewhere inside a dependency.
  const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((file) => {
    const version = spawnSync(file, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim();
    return version !== undefined && Number(version.split('.')[0]) < 22;
  });
  it.skipIf(systemNode === undefined)('refuses to start on Node older than 22 with a sentence saying why', () => {
    const result = spawnSync(systemNode!, [BIN, '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^nightshift needs Node 22 or newer; this is Node 2\d\.\S+ \(\/usr\/.*node\)\.\n/);
    expect(result.stderr).toMatch(/Install a newer Node, or the standalone executable/);
    expect(result.stderr).not.toMatch(/npm/);
  });
});

describeWithSshd('nightshift run against a real sshd', () => {
  let sshd: Sshd;
  let config: string;
  let runbook: string;
  beforeAll(async () => {
    sshd = await Sshd.start();
    config = write('ssh_config', sshd.clientConfig('target'));
    runbook = write(
      'remote.yaml',
      'name: remote\nhosts:\n  target: {}\nvars:\n  word: "it\'s here"\nphases:\n  - name: one\n    steps:\n      - run: echo {{ word }}; echo oops >&2; exit 3\n        host: target\n',
    );
  });
  afterAll(() => sshd?.stop());

  it('runs a step, prefixes its output with the host, and takes a decision from stdin', async () => {
    const known = write('known_ok', `${sshd.knownHostsLine()}\n`);
    const run = converse(
      ['run', '--plain', runbook, '--ssh-config', config, '--known-hosts', known],
      (line) => (/Answer retry/.test(line) ? 'skip exits 3 on purpose' : undefined),
      { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
    );
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toContain("target| it's here");
    expect(text).toContain('target| oops');
    expect(text).toMatch(/FAILED 1\.1 .*: exited with status 3/);
    expect(text).toMatch(/skipped 1\.1 .* by .*: exits 3 on purpose/);
  });

  it('refuses a host whose key does not match known_hosts, showing both fingerprints', async () => {
    execFileSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-f', path.join(dir, 'other'), '-C', 'x']);
    const otherKey = readFileSync(path.join(dir, 'other.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const known = write('known_bad', `[127.0.0.1]:${sshd.port} ${otherKey}\n`);
    const stateDir = freshStateDir();
    const run = converse(
      // --no-check: the refusal when the step logs in is what is tested.
      ['run', '--plain', '--no-check', runbook, '--ssh-config', config, '--known-hosts', known],
      (line) => (/Answer retry/.test(line) ? 'pause' : undefined),
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    expect(await run.exited).toBe(4);
    const text = run.lines.join('\n');
    expect(text).toContain(
      `does not match: known_hosts has ${execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(dir, 'other.pub')], { encoding: 'utf8' }).split(' ')[1]}`,
    );
    expect(text).toContain(`the server sent ${sshd.hostKey('ed25519').fingerprint}`);
    expect(text).toContain('Refusing to connect');
    expect(text).not.toContain("target| it's here");
  });
});
