// A step that starts while the link is down, run by the built binary in plain mode: the
// first login gets the same reconnect window as a drop in the middle of a step, so one
// reset does not swing a whole upgrade back; a refusal that will not change still does.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { converse, freshStateDir } from '../support/cli.js';
import { generateKeyPair } from '../support/ssh-keys.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';

describeWithSshd('nightshift run: a step whose first login meets a link that is down', () => {
  let sshd: Sshd;
  let relay: TcpRelay;
  let dir: string;

  beforeAll(async () => {
    sshd = await Sshd.start();
    relay = await TcpRelay.start(sshd.port);
    dir = mkdtempSync(path.join(tmpdir(), 'ns-first-login-'));
    sshd.writeClientFiles(dir, 'target', { port: relay.port });
    writeFileSync(
      path.join(dir, 'first-login.yaml'),
      [
        'name: first login',
        'hosts:',
        '  target: {}',
        'phases:',
        '  - name: go',
        '    steps:',
        '      - id: work',
        '        run: echo the step ran',
        '        host: target',
        '        on_fail: fallback',
        'fallback:',
        '  - id: back',
        '    local: echo fell back',
        '',
      ].join('\n'),
    );
  });
  const stateDirs: string[] = [];
  afterAll(async () => {
    await relay?.close();
    await sshd?.stop();
    for (const stateDir of stateDirs) {
      const sessions = path.join(stateDir, 'sessions');
      // The runs of its sessions on the host (this machine).
      for (const id of existsSync(sessions) ? readdirSync(sessions) : []) {
        rmSync(path.join(homedir(), '.local/state/nightshift/runs', id), { recursive: true, force: true });
      }
    }
    for (const folder of [dir, ...stateDirs]) rmSync(folder, { recursive: true, force: true });
  });

  function start(knownHosts = path.join(dir, 'known_hosts')) {
    const stateDir = freshStateDir();
    stateDirs.push(stateDir);
    const run = converse(
      // --no-check: the step's own first login is what is tested, not the check before the run.
      ['run', '--plain', '--no-check', path.join(dir, 'first-login.yaml'), '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', knownHosts],
      (line) => (/Answer retry/.test(line) ? 'pause' : undefined),
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    const journal = () => {
      const sessions = path.join(stateDir, 'sessions');
      return readJournal(path.join(sessions, readdirSync(sessions)[0]!, 'journal.jsonl'));
    };
    return { run, journal };
  }

  it('connections reset for 2 s: the step waits for the link, runs once it is back, and nothing falls back', async () => {
    const resetUntil = Date.now() + 2000;
    relay.resetNewWhile(() => Date.now() < resetUntil);
    const { run, journal } = start();
    const code = await run.exited;
    relay.resetNewWhile(() => false);
    const text = run.lines.join('\n');
    expect(code, text + run.stderr()).toBe(0);
    expect(relay.resets).toBeGreaterThan(0);
    expect(text).toMatch(/^target\| the step ran$/m);
    expect(text).not.toMatch(/FALLBACK|fell back/);
    const entries = journal();
    expect(entries.map((entry) => entry.type)).not.toContain('fallback.started');
    expect(entries.find((entry) => entry.type === 'step.finished' && entry['stepId'] === 'work')).toMatchObject({ status: 'done', exitCode: 0 });
    const states = entries.filter((entry) => entry.type === 'host.state').map((entry) => entry['state']);
    expect(states.slice(0, 3)).toEqual(['connecting', 'reconnecting', 'connected']);
  }, 60_000);

  it('a host key that does not match still fails the step at once, and on_fail: fallback falls back', async () => {
    const stranger = await generateKeyPair(dir, 'stranger_host_key', { comment: 'stranger' });
    const knownHosts = path.join(dir, 'known_hosts.stranger');
    writeFileSync(knownHosts, `[127.0.0.1]:${relay.port} ${stranger.publicKey}\n`);
    const { run, journal } = start(knownHosts);
    const code = await run.exited;
    const text = run.lines.join('\n');
    expect(code, text + run.stderr()).toBe(3);
    expect(text).toMatch(/FAILED 1\.1 .*The host key of target .* does not match/);
    expect(text).toMatch(/FALLBACK started by nightshift/);
    const entries = journal();
    const failed = entries.find((entry) => entry.type === 'step.finished' && entry['stepId'] === 'work')!;
    expect(failed['durationMs']).toBeLessThan(3000);
    expect(entries.filter((entry) => entry.type === 'host.state').map((entry) => entry['state'])).not.toContain('reconnecting');
  }, 60_000);
});
