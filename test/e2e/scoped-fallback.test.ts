// Scoped fallbacks, run by the built binary against the real sshd: a step of a phase that
// falls back runs that phase's own fallback, not the runbook's; a phase fallback that fails
// goes on to the runbook's; and a host that cannot be reached still gets its phase rescued
// from the other hosts.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { BIN, converse, freshStateDir, ROOT } from '../support/cli.js';
import { TmuxSession } from '../support/tmux.js';
import { describeWithSshd, freePort, Sshd } from '../support/sshd.js';

describeWithSshd('nightshift run with a phase fallback', () => {
  let sshd: Sshd;
  let dir: string;
  const stateDirs: string[] = [];

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-scoped-fallback-'));
    writeFileSync(path.join(dir, 'known_hosts'), `${sshd.knownHostsLine()}\n`);
  });
  afterAll(async () => {
    await sshd?.stop();
    for (const stateDir of stateDirs) {
      const sessions = path.join(stateDir, 'sessions');
      // The runs of its sessions on the host (this machine).
      for (const id of existsSync(sessions) ? readdirSync(sessions) : []) {
        rmSync(path.join(homedir(), '.local/state/nightshift/runs', id), { recursive: true, force: true });
      }
    }
    for (const folder of [dir, ...stateDirs]) if (folder) rmSync(folder, { recursive: true, force: true });
  });

  /** Runs `yaml` in plain mode, hosts old and new on the test sshd (new on `newPort` when given); a question is answered with pause. */
  function run(name: string, yaml: string, options: { newPort?: number; noCheck?: boolean; answer?: string } = {}) {
    const config = path.join(dir, `${name}.ssh_config`);
    writeFileSync(config, `${sshd.clientConfig('old')}${sshd.clientConfig('new', options.newPort !== undefined ? { port: options.newPort } : {})}`);
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, yaml);
    const stateDir = freshStateDir();
    stateDirs.push(stateDir);
    const args = ['run', '--plain', ...(options.noCheck ? ['--no-check'] : []), file, '--ssh-config', config, '--known-hosts', path.join(dir, 'known_hosts')];
    const conversation = converse(args, (line) => (/^\s*Answer /.test(line) ? (options.answer ?? 'pause') : undefined), {
      NIGHTSHIFT_STATE_DIR: stateDir,
      SSH_AUTH_SOCK: '',
    });
    const journal = () => {
      const sessions = path.join(stateDir, 'sessions');
      return readJournal(path.join(sessions, readdirSync(sessions)[0]!, 'journal.jsonl'));
    };
    return { conversation, journal, marks: (mark: string) => path.join(dir, `${name}.${mark}`) };
  }

  const runbook = (name: string, swapFallback: string[], extra: string[] = []) =>
    [
      `name: ${name}`,
      'hosts:',
      '  old: {}',
      '  new: {}',
      'phases:',
      '  - name: prepare',
      '    steps:',
      '      - run: echo prepared on old',
      '        host: old',
      '  - name: swap',
      '    steps:',
      '      - id: add',
      `        run: echo adding; touch ${path.join(dir, `${name}.added`)}; exit 3`,
      '        host: new',
      '        on_fail: fallback',
      '      - run: echo never here',
      '        host: new',
      '    fallback:',
      ...swapFallback.map((line) => `      ${line}`),
      ...extra,
      'fallback:',
      '  - id: back',
      `    local: echo the runbook fallback ran; touch ${path.join(dir, `${name}.outer`)}`,
      '',
    ].join('\n');

  const started = (entries: ReturnType<ReturnType<typeof run>['journal']>) => entries.filter((entry) => entry.type === 'fallback.started');

  it("phase 2 fails: its own fallback runs on the host, the runbook's does not, and the run ends fallen back", async () => {
    const { conversation, journal } = run(
      'inner',
      runbook('inner', [
        '- id: undo-new',
        '  run: echo undone on new',
        '  host: new',
        '- id: tell',
        '  local: echo told the noc',
        '  title: "tell the noc \\u001b]0;owned\\u0007"',
      ]),
    );
    const code = await conversation.exited;
    const text = conversation.lines.join('\n');
    expect(code, text + conversation.stderr()).toBe(3);
    expect(text).toMatch(/^new\| adding$/m);
    expect(text).toMatch(/<< FALLBACK of phase swap started by nightshift: step 2\.1 failed and says on_fail: fallback/);
    expect(text).toMatch(/> 2\.F1 .*\[swap fallback\] on new/);
    expect(text).toMatch(/^new\| undone on new$/m);
    expect(text).toMatch(/told the noc/);
    expect(text).not.toMatch(/the runbook fallback ran|never here/);
    // The end says whose fallback ended the run, and claims nothing about the old system.
    expect(text).toMatch(/the run ended after the fallback of phase swap: the runbook's fallback did not run/);
    expect(text).not.toMatch(/the old system should be serving again/);
    // The title's escape sequence is shown, not sent to the terminal.
    expect(text).not.toContain('\u001b]0;owned');
    expect(text).toMatch(/tell the noc \^\[\]0;owned\^G/);
    const entries = journal();
    expect(started(entries)).toEqual([expect.objectContaining({ scope: 'swap', fromStepId: 'add' })]);
    expect(entries.find((entry) => entry.type === 'step.finished' && entry['stepId'] === 'undo-new')).toMatchObject({ status: 'done', exitCode: 0 });
    expect(entries.find((entry) => entry.type === 'run.finished')).toMatchObject({ outcome: 'fell-back' });
    expect(entries.some((entry) => entry.type === 'step.started' && entry['stepId'] === 'back')).toBe(false);
  }, 90_000);

  it("the phase fallback fails: the runbook's fallback runs after it", async () => {
    const { conversation, journal, marks } = run(
      'outer',
      runbook('outer', ['- id: undo-new', '  run: echo cannot undo; exit 4', '  host: new', '- id: tell', '  local: echo not reached']),
    );
    const code = await conversation.exited;
    const text = conversation.lines.join('\n');
    expect(code, text + conversation.stderr()).toBe(3);
    expect(text).toMatch(/^new\| cannot undo$/m);
    expect(text).toMatch(/<< FALLBACK started by nightshift: step 2\.F1 of the fallback of phase swap failed: the runbook's fallback follows/);
    expect(text).toMatch(/the runbook fallback ran/);
    expect(text).not.toMatch(/not reached/);
    expect(text).toMatch(/the run ended after the fallback: the old system should be serving again/);
    expect(existsSync(marks('outer'))).toBe(true);
    const entries = journal();
    expect(started(entries).map((entry) => entry['scope'])).toEqual(['swap', null]);
    expect(entries.find((entry) => entry.type === 'run.finished')).toMatchObject({ outcome: 'fell-back' });
  }, 90_000);

  it("the failing step's host cannot be reached: the phase fallback still runs, its steps on the other host", async () => {
    const closed = await freePort();
    const yaml = runbook('unreachable', ['- id: undo-old', '  run: echo rerouted from old', '  host: old', '- id: tell', '  local: echo told the noc']).replace(
      '        on_fail: fallback\n',
      '        on_fail: fallback\n        timeout: 4s\n        attach: false\n',
    );
    const { conversation, journal, marks } = run('unreachable', yaml, { newPort: closed, noCheck: true });
    const code = await conversation.exited;
    const text = conversation.lines.join('\n');
    expect(code, text + conversation.stderr()).toBe(3);
    expect(text).not.toMatch(/^new\| adding$/m);
    expect(existsSync(marks('added'))).toBe(false);
    expect(text).toMatch(/<< FALLBACK of phase swap started by nightshift/);
    expect(text).toMatch(/^old\| rerouted from old$/m);
    expect(text).toMatch(/told the noc/);
    expect(text).not.toMatch(/the runbook fallback ran/);
    const entries = journal();
    expect(entries.find((entry) => entry.type === 'step.finished' && entry['stepId'] === 'add')).toMatchObject({ status: 'failed' });
    expect(started(entries)).toEqual([expect.objectContaining({ scope: 'swap', fromStepId: 'add' })]);
    expect(entries.find((entry) => entry.type === 'step.finished' && entry['stepId'] === 'undo-old')).toMatchObject({ status: 'done', exitCode: 0 });
    expect(entries.find((entry) => entry.type === 'run.finished')).toMatchObject({ outcome: 'fell-back' });
  }, 90_000);

  it("a detached step on a host that cannot be reached may still run: the upgrader is asked, and fallback from there runs the phase's", async () => {
    const closed = await freePort();
    const yaml = runbook('asked', ['- id: undo-old', '  run: echo rerouted from old', '  host: old']).replace(
      '        on_fail: fallback\n',
      '        on_fail: fallback\n        timeout: 3s\n',
    );
    const { conversation, journal } = run('asked', yaml, { newPort: closed, noCheck: true, answer: 'fallback new does not answer' });
    const code = await conversation.exited;
    const text = conversation.lines.join('\n');
    expect(code, text + conversation.stderr()).toBe(3);
    const asked = conversation.lines.findIndex((line) => /Attempt 1 may still be running on new/.test(line));
    const fellBack = conversation.lines.findIndex((line) => /<< FALLBACK of phase swap started by /.test(line));
    expect(asked).toBeGreaterThanOrEqual(0);
    expect(fellBack).toBeGreaterThan(asked);
    expect(text).toMatch(/<< FALLBACK of phase swap started by [^:]+: new does not answer/);
    expect(text).toMatch(/^old\| rerouted from old$/m);
    expect(text).not.toMatch(/the runbook fallback ran/);
    const entries = journal();
    expect(entries.find((entry) => entry.type === 'step.finished' && entry['stepId'] === 'add')).toMatchObject({ status: 'failed' });
    expect(started(entries)).toEqual([expect.objectContaining({ scope: 'swap', fromStepId: 'add', reason: 'new does not answer' })]);
  }, 90_000);

  it("full screen: the header names the phase's fallback and the runbook panel lists its steps under the phase", async () => {
    const name = 'screen';
    const config = path.join(dir, `${name}.ssh_config`);
    writeFileSync(config, `${sshd.clientConfig('old')}${sshd.clientConfig('new')}`);
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, runbook(name, ['- id: undo-new', '  run: echo undone on new', '  host: new', '  title: take the address away']));
    const stateDir = freshStateDir();
    stateDirs.push(stateDir);
    const term = TmuxSession.start([process.execPath, BIN, 'run', file, '--ssh-config', config, '--known-hosts', path.join(dir, 'known_hosts')], {
      cwd: ROOT,
      cols: 120,
      rows: 30,
      env: { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    });
    try {
      const screen = await term.waitFor(
        /The run ended after the fallback of phase swap: the runbook's fallback did not run/,
        30_000,
        'the run to end fallen back',
      );
      expect(screen).toMatch(/nightshift · screen · FALLBACK of phase swap/);
      const lines = screen.split('\n');
      const row = (pattern: RegExp) => {
        const index = lines.findIndex((line) => pattern.test(line));
        expect(index, `${pattern} in\n${screen}`).toBeGreaterThanOrEqual(0);
        return index;
      };
      // The runbook panel, on the left: the phase's fallback (done) under its phase, before the runbook's (not run).
      expect(row(/^│2 swap /)).toBeLessThan(row(/^│ ✗ 2\.1 /));
      expect(row(/^│ ✗ 2\.1 /)).toBeLessThan(row(/^│ +↩ fallback of swap /));
      expect(row(/^│ +↩ fallback of swap /)).toBeLessThan(row(/^│ ✓ 2\.F1 take the address away /));
      expect(row(/^│ ✓ 2\.F1 take the address away /)).toBeLessThan(row(/^│Fallback /));
      expect(row(/^│Fallback /)).toBeLessThan(row(/^│ · F1 echo the runbook fallback ran/));
      term.keys('q');
      expect(await term.waitForExit(10_000)).toBe(3);
    } finally {
      term.kill();
    }
  }, 90_000);
});
