// when: end to end with the built binary against OpenSSH's sshd, in plain mode: the facts
// of the host are gathered once (journaled), a step whose condition holds runs, a step
// whose fact does not match is skipped with the condition and what was found, a phase's
// condition skips its reboot, a hostile string in a condition shows neutralized, and
// `nightshift report` says why each step was skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { osRelease } from '../../src/runner/host-facts.js';
import { readJournal } from '../../src/store/journal.js';
import { BIN, clientFlags, converse, freshStateDir, ROOT, typedAnswer } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

const distro = osRelease(readFileSync('/etc/os-release', 'utf8').split('\n')).get('ID') ?? '';
const systemd = existsSync('/run/systemd/system');

describeWithSshd('nightshift run --plain with when: conditions', () => {
  let sshd: Sshd;
  let dir: string;

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-when-'));
    sshd.writeClientFiles(dir, 'target');
    writeFileSync(
      path.join(dir, 'when.yaml'),
      [
        'name: when',
        'hosts:',
        '  target: {}',
        'vars:',
        '  mode: dual',
        'phases:',
        '  - name: probe',
        '    steps:',
        '      - id: same-kernel',
        `        run: echo ran on the same kernel`,
        '        host: target',
        `        when: host.kernel == "${release()}" and target.cpus >= 1`,
        '      - id: plan9-only',
        '        run: echo ran on plan9',
        '        host: target',
        '        when: target.distro == "plan9"',
        '      - id: systemd-only',
        '        run: echo ran on systemd',
        '        host: target',
        '        when: target.systemd',
        '      - id: hostile',
        '        checkpoint: never asked',
        `        when: "mode == '\\e]0;pwned\\a\\e[2J\\nred'"`,
        '  - name: swap',
        '    when: mode == "single"',
        '    steps:',
        '      - reboot: target',
        '        id: boot',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => sshd?.stop());

  it('runs what holds, skips the rest with the reason, in the output, the journal and the report', async () => {
    const stateDir = freshStateDir();
    const run = converse(['run', '--plain', path.join(dir, 'when.yaml'), ...clientFlags(dir)], (line) => typedAnswer(line), {
      NIGHTSHIFT_STATE_DIR: stateDir,
      SSH_AUTH_SOCK: '',
    });
    const code = await run.closed;
    const output = run.lines.join('\n');
    expect(code, output + run.stderr()).toBe(0);

    expect(output).toContain('target| ran on the same kernel');
    expect(output).not.toContain('target| ran on plan9');
    const said = (text: string) =>
      expect(
        run.lines.filter((line) => line.endsWith(text)),
        output,
      ).toHaveLength(1);
    said(`] skipped 1.2 echo ran on plan9: when target.distro == "plan9" (target.distro is ${JSON.stringify(distro)})`);
    if (systemd) expect(output).toContain('target| ran on systemd');
    else said('] skipped 1.3 echo ran on systemd: when target.systemd (target.systemd is false)');
    // The hostile literal is shown, never acted on: no escape sequence, no bell, no line break.
    said(`] skipped 1.4 never asked: when mode == '^[]0;pwned^G^[[2J^Jred' (mode is "dual")`);
    expect(output).not.toMatch(/\x1b|\x07/);
    expect(output).not.toContain('Type yes to confirm');
    said('] skipped 2.1 reboot target: when mode == "single" (mode is "dual")');

    const sessions = path.join(stateDir, 'sessions');
    const [id] = readdirSync(sessions);
    const entries = readJournal(path.join(sessions, id!, 'journal.jsonl'));
    // Gathered once for the four conditions on target.
    const facts = entries.filter((entry) => entry.type === 'host.facts');
    expect(facts).toHaveLength(1);
    expect(facts[0]).toMatchObject({ host: 'target', facts: { kernel: release(), distro, systemd } });
    const skipped = entries.filter((entry) => entry.type === 'step.skipped');
    expect(skipped.map((entry) => [entry['stepId'], (entry['by'] as { role: string }).role])).toEqual([
      ['plan9-only', 'nightshift'],
      ...(systemd ? [] : [['systemd-only', 'nightshift']]),
      ['hostile', 'nightshift'],
      ['boot', 'nightshift'],
    ]);
    expect(entries.some((entry) => entry.type === 'step.started' && entry['stepId'] === 'boot')).toBe(false);

    const report = spawnSync(process.execPath, [BIN, 'report'], { cwd: ROOT, env: { ...process.env, NIGHTSHIFT_STATE_DIR: stateDir }, encoding: 'utf8' });
    expect(report.status, report.stderr).toBe(0);
    const markdown = readFileSync(path.join(sessions, id!, 'report.md'), 'utf8');
    expect(markdown).toContain(`when target.distro == "plan9" (target.distro is ${JSON.stringify(distro)})`);
    expect(markdown).toContain('when mode == "single" (mode is "dual")');
    expect(markdown).not.toMatch(/\x1b|\x07/);
  }, 90_000);
});
