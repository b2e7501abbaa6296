// A phase template used for two hosts, run by the built binary against two real sshds (each
// tells who it is through its sessions' environment): lint and plan accept it, each phase runs
// on its own host (not the first one, as a reused YAML anchor would), and a param value full
// of shell syntax is printed byte for byte, never run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN, converse, freshStateDir, ROOT } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

describeWithSshd('nightshift run with a phase template for two hosts', () => {
  let one: Sshd;
  let two: Sshd;
  let dir: string;
  let stateDir: string | undefined;
  let marker: string;
  let hostile: string;
  let sessionId: string | undefined;

  beforeAll(async () => {
    one = await Sshd.start({ env: { MACHINE: 'machine-one' } });
    two = await Sshd.start({ env: { MACHINE: 'machine-two' } });
    dir = mkdtempSync(path.join(tmpdir(), 'ns-templates-'));
    marker = path.join(dir, 'pwned');
    hostile = `x"; touch ${marker}; echo "'; touch ${marker}; '$(touch ${marker})\`touch ${marker}\`\\`;
    writeFileSync(path.join(dir, 'ssh_config'), one.clientConfig('vm1') + two.clientConfig('vm2'));
    writeFileSync(path.join(dir, 'known_hosts'), `${one.knownHostsLine()}\n${two.knownHostsLine()}\n`);
    mkdirSync(path.join(dir, 'common'));
    writeFileSync(
      path.join(dir, 'common', 'check.yaml'),
      ['phases:', '  - name: check-vm2', '    use: where', '    with: { guest: vm2, label: checked }', ''].join('\n'),
    );
    writeFileSync(
      path.join(dir, 'two.yaml'),
      [
        'name: one template, two hosts',
        'hosts:',
        '  vm1: {}',
        '  vm2: {}',
        'templates:',
        '  where:',
        '    params: [guest, label]',
        '    title: Where {{guest}} is',
        '    steps:',
        '      - title: "{{guest}} says where it is"',
        '        host: "{{guest}}"',
        `        run: printf 'guest=%s machine=%s port=%s label=%s\\n' {{guest}} "$MACHINE" "\${SSH_CONNECTION##* }" "{{label}}"`,
        'phases:',
        '  - name: vm1',
        '    use: where',
        `    with: { guest: vm1, label: ${JSON.stringify(hostile)} }`,
        '  - name: vm2',
        '    use: where',
        '    with: { guest: vm2, label: plain }',
        '  - include: common/check.yaml',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await one?.stop();
    await two?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    // Both sshds log in this machine's user: the run folders they made are in its home.
    if (sessionId) rmSync(path.join(homedir(), '.local/state/nightshift/runs', sessionId), { recursive: true, force: true });
  });

  it('lint accepts it and plan shows the template each phase came from', () => {
    const file = path.join(dir, 'two.yaml');
    expect(execFileSync(process.execPath, [BIN, 'lint', file], { cwd: ROOT, encoding: 'utf8' })).toBe(`${file}: ok (3 phases, 3 steps, 0 fallback steps)\n`);
    const plan = execFileSync(process.execPath, [BIN, 'plan', file], { cwd: ROOT, encoding: 'utf8' });
    expect(plan).toContain('Phase 1: Where vm1 is  (template where)');
    expect(plan).toContain('Phase 3: Where vm2 is  (template where)');
    expect(plan).toContain('includes: common/check.yaml');
    expect(plan).toMatch(/\[ \] 2\.1 +vm2 +vm2 says where it is/);
  });

  it('runs each phase on its own host, with the param quoted', async () => {
    stateDir = freshStateDir();
    const run = converse(
      ['run', '--plain', path.join(dir, 'two.yaml'), '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', path.join(dir, 'known_hosts')],
      (line) => (/Answer retry/.test(line) ? 'pause' : undefined),
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    expect(await run.closed, run.lines.join('\n') + run.stderr()).toBe(0);
    const said = run.lines.filter((line) => line.includes('| guest='));
    expect(said, run.lines.join('\n')).toEqual([
      `vm1| guest=vm1 machine=machine-one port=${one.port} label=${hostile}`,
      `vm2| guest=vm2 machine=machine-two port=${two.port} label=plain`,
      `vm2| guest=vm2 machine=machine-two port=${two.port} label=checked`,
    ]);
    expect(existsSync(marker)).toBe(false);
    expect(run.lines.filter((line) => line.includes(' > ')).map((line) => line.replace(/^\[[\d:]+\] /, ''))).toEqual([
      '> 1.1 vm1 says where it is [vm1] on vm1',
      '> 2.1 vm2 says where it is [vm2] on vm2',
      '> 3.1 vm2 says where it is [check-vm2] on vm2',
    ]);
    sessionId = readdirSync(path.join(stateDir, 'sessions'))[0];
  }, 120_000);

  it('lint points into the included file when it holds the problem', () => {
    writeFileSync(path.join(dir, 'bad.yaml'), ['name: bad', 'hosts: { vm1: {} }', 'phases:', '  - include: common/bad.yaml', ''].join('\n'));
    writeFileSync(path.join(dir, 'common', 'bad.yaml'), ['phases:', '  - name: bad', '    steps:', '      - run: "true"', '        host: vm9', ''].join('\n'));
    let output = '';
    try {
      execFileSync(process.execPath, [BIN, 'lint', path.join(dir, 'bad.yaml')], { cwd: ROOT, encoding: 'utf8' });
    } catch (error) {
      output = (error as { stdout: string }).stdout;
    }
    expect(output).toBe(`${path.join(dir, 'common', 'bad.yaml')}:5:15: unknown host 'vm9' in step 1.1; did you mean 'vm1'?\n`);
  });
});
