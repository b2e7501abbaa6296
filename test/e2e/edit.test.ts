// The edit step, run by the built binary against the real sshd: the diff shows above the
// approval, the upgrader types the host name, the file changes; the same runbook in a new
// session changes nothing and asks nothing; a fallback's undo puts the file back; text that
// would drive a terminal reaches the file as it is but not the screen.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { converse, freshStateDir, type Conversation } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

const ORIGINAL = '#Port 22\n#PermitRootLogin prohibit-password\nPasswordAuthentication yes\nUsePAM yes\n';
const HARDENED = '#Port 22\nPermitRootLogin no\n#PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM yes\n';

describeWithSshd('nightshift run with edit steps', () => {
  let sshd: Sshd;
  let dir: string;
  const runs: Conversation[] = [];

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-edit-e2e-'));
    writeFileSync(path.join(dir, 'ssh_config'), sshd.clientConfig('target'));
    writeFileSync(path.join(dir, 'known_hosts'), `${sshd.knownHostsLine()}\n`);
  });
  afterEach(() => {
    for (const run of runs.splice(0)) run.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `runbook` in a session of its own, typing what an approval asks for (recording each prompt). */
  function run(name: string, runbook: string, prompts: string[]): Conversation {
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, runbook);
    const conversation = converse(
      ['run', '--plain', file, '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', path.join(dir, 'known_hosts')],
      (line, lines) => {
        const asked = /Type ("(?:[^"\\]|\\.)*") to make it/.exec(line);
        if (asked) {
          prompts.push(`${lines.at(-2)}\n${line}`);
          return JSON.parse(asked[1]!) as string;
        }
        if (/Type |Answer /.test(line)) {
          prompts.push(line);
          return 'pause';
        }
        return undefined;
      },
      { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
    );
    runs.push(conversation);
    return conversation;
  }

  it('shows the diff, asks for the host name, changes the file; the same runbook again changes nothing and asks nothing', async () => {
    const config = path.join(dir, 'sshd_config');
    const hostname = path.join(dir, 'hostname');
    writeFileSync(config, ORIGINAL);
    const runbook = `name: harden
vars: { name: dragon }
hosts:
  target: {}
phases:
  - name: config
    steps:
      - edit: ${config}
        id: harden
        host: target
        replace: [{ match: '^#?PasswordAuthentication .*', with: 'PasswordAuthentication no' }]
        ensure_lines: [{ line: PermitRootLogin no, after: '^#?Port ' }]
      - edit: ${hostname}
        id: hostname
        host: target
        content: "{{name}}\\n"
        mode: "600"
`;
    const prompts: string[] = [];
    const first = run('harden', runbook, prompts);
    expect(await first.exited, first.lines.join('\n') + first.stderr()).toBe(0);
    const text = first.lines.join('\n');
    expect(prompts).toEqual([
      `? 1.1 edit ${config} on target: approve the change to ${config} on target shown above.\n  Type "target" to make it, or pause:`,
      `? 1.2 edit ${hostname} on target: approve the change to ${hostname} on target shown above.\n  Type "target" to make it, or pause:`,
    ]);
    // The diff, as output lines of the host, before the approval.
    const diffAt = first.lines.indexOf(`target| --- ${config}`);
    expect(diffAt).toBeGreaterThan(-1);
    expect(first.lines.slice(diffAt, diffAt + 9)).toEqual([
      `target| --- ${config}`,
      `target| +++ ${config}`,
      'target| @@ -1,4 +1,5 @@',
      'target|  #Port 22',
      'target| +PermitRootLogin no',
      'target|  #PermitRootLogin prohibit-password',
      'target| -PasswordAuthentication yes',
      'target| +PasswordAuthentication no',
      'target|  UsePAM yes',
    ]);
    expect(first.lines.findIndex((line) => line.includes(`approve the change to ${config}`))).toBeGreaterThan(diffAt);
    expect(text).toContain(`target| +dragon`);
    expect(readFileSync(config, 'utf8')).toBe(HARDENED);
    expect(readFileSync(hostname, 'utf8')).toBe('dragon\n');

    const promptsAgain: string[] = [];
    const second = run('harden', runbook, promptsAgain);
    expect(await second.exited, second.lines.join('\n') + second.stderr()).toBe(0);
    expect(promptsAgain).toEqual([]);
    expect(second.lines.join('\n')).toContain(`1.1 edit ${config} on target: ${config} already is as the step makes it: nothing to change`);
    expect(second.lines.join('\n')).not.toContain('+++');
    expect(readFileSync(config, 'utf8')).toBe(HARDENED);
  }, 90_000);

  it("a fallback's undo puts the file back from the backup the edit kept", async () => {
    const config = path.join(dir, 'app.conf');
    writeFileSync(config, 'level=info\n');
    const runbook = `name: undo
hosts:
  target: {}
phases:
  - name: change
    steps:
      - edit: ${config}
        id: level
        host: target
        set: { level: debug }
      - run: test "$(cat ${config})" = level=debug && exit 3
        host: target
        on_fail: fallback
fallback:
  - undo: level
`;
    const prompts: string[] = [];
    const conversation = run('undo', runbook, prompts);
    await conversation.exited;
    const text = conversation.lines.join('\n');
    expect(prompts).toHaveLength(1);
    expect(text).toMatch(/FAILED 1\.2 .*exited with status 3/);
    expect(text).toContain(`target| nightshift: ${config} on target put back from ${config}.nightshift-`);
    expect(readFileSync(config, 'utf8')).toBe('level=info\n');
  }, 90_000);

  it('puts escape sequences into the file as written, and shows none of them', async () => {
    const file = path.join(dir, 'motd');
    const runbook = `name: hostile
hosts:
  target: {}
phases:
  - name: motd
    steps:
      - edit: ${file}
        host: target
        content: "\\e]0;owned\\a\\e[2J\\e[31mred\\e[0m\\n"
`;
    const conversation = run('hostile', runbook, []);
    expect(await conversation.exited, conversation.lines.join('\n') + conversation.stderr()).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m\n');
    const text = conversation.lines.join('\n');
    expect(text).not.toContain('\x1b');
    expect(text).not.toContain('\x07');
    expect(text).toContain('target| +red');
  }, 90_000);
});
