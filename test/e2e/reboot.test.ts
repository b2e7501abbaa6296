// The reboot step, run by the built binary against a machine that reboots for real as far
// as SSH can tell: the link drops, sshd is away for a while, a new boot id comes back.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { clientFlags, BIN, converse, freshStateDir, ROOT, waitForLine } from '../support/cli.js';
import { canFakeReboots, RebootableMachine } from '../support/rebootable-machine.js';
import { generateKeyPair } from '../support/ssh-keys.js';
import { sshdInstalled } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';
import { scratchFolders } from '../support/scratch-folder.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

const runnable = sshdInstalled() && canFakeReboots();
if (!runnable) console.warn('\n*** the reboot tests need root, unshare and openssh-server: skipped ***\n');

describe.skipIf(!runnable)('nightshift run with a reboot step', () => {
  let machine: RebootableMachine | undefined;
  let terminal: TmuxSession | undefined;
  afterEach(() => {
    terminal?.kill();
    terminal = undefined;
    machine?.stop();
  });

  function runbookFor(target: RebootableMachine, step: string) {
    const dir = scratch('ns-reboot-');
    const { sshd } = target;
    sshd.writeClientFiles(dir, 'dolphin');
    writeFileSync(
      path.join(dir, 'reboot.yaml'),
      `name: reboot\nhosts:\n  dolphin: {}\nphases:\n  - name: boot\n    steps:\n      - run: hostname\n        host: dolphin\n${step}      - run: echo back on $(hostname)\n        host: dolphin\n`,
    );
    return ['run', '--plain', path.join(dir, 'reboot.yaml'), ...clientFlags(dir)];
  }

  const env = () => ({ NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' });

  it('goes down, comes back with a new boot id and the expected hostname, and the run goes on', async () => {
    machine = await RebootableMachine.start('dolphin');
    machine.rebootOnRequest({ downForMs: 2500, nextHostname: 'dragon' });
    const args = runbookFor(
      machine,
      `      - reboot: dolphin\n        command: touch ${machine.rebootRequest}\n        hostname: dragon\n        timeout: 1m\n`,
    );
    const run = converse(args, (line) => (/Answer retry/.test(line) ? 'pause' : undefined), env());
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(/dolphin\| nightshift: dolphin boot id before the reboot: [0-9a-f-]{36}/);
    expect(text).toMatch(/dolphin\| nightshift: dolphin went down; waiting for it to come back/);
    expect(text).toMatch(/dolphin\| nightshift: dolphin is back: boot id [0-9a-f-]{36}, hostname dragon/);
    expect(text).toMatch(/dolphin\| back on dragon/);
    expect(machine.reboots).toBe(1);
  });

  it('refuses what came back when it is another system, and says which', async () => {
    machine = await RebootableMachine.start('dolphin');
    machine.rebootOnRequest({ downForMs: 500, nextHostname: 'rescue' });
    const args = runbookFor(
      machine,
      `      - reboot: dolphin\n        command: touch ${machine.rebootRequest}\n        hostname: dragon\n        timeout: 1m\n`,
    );
    const run = converse(args, (line) => (/Answer retry/.test(line) ? 'pause' : undefined), env());
    expect(await run.exited).toBe(4);
    expect(run.lines.join('\n')).toMatch(/FAILED 1\.2 .*: dolphin came back as "rescue", not "dragon": another system booted\./);
  });

  it('past its bound it asks; keeping on waiting does not reboot again', async () => {
    machine = await RebootableMachine.start('dolphin');
    // The machine stays down until the first bound has passed, then comes back: the retry
    // must find it without rebooting it again.
    machine.rebootOnRequest({ downForMs: 'until told' });
    const args = runbookFor(machine, `      - reboot: dolphin\n        command: touch ${machine.rebootRequest}\n        timeout: 5s\n`);
    let asked = 0;
    const run = converse(
      args,
      (line) => {
        if (!/Answer retry \(keep waiting\)/.test(line)) return undefined;
        asked++;
        machine!.bringBack();
        return asked === 1 ? 'retry' : 'pause';
      },
      env(),
    );
    const code = await run.exited;
    const text = run.lines.join('\n');
    expect(code, text).toBe(0);
    expect(text).toMatch(/FAILED 1\.2 reboot dolphin after 5\.0s: did not finish within 5\.0s/);
    expect(text).toMatch(/nightshift: still waiting for dolphin to come back from the reboot/);
    expect(asked).toBe(1);
    expect(machine.reboots).toBe(1);
  });

  it.skipIf(!tmuxAvailable())('past its bound the sentinel can be asked to look; their /ok goes back to waiting, without a second reboot', async () => {
    machine = await RebootableMachine.start('dolphin');
    machine.rebootOnRequest({ downForMs: 'until told' });
    const args = runbookFor(machine, `      - reboot: dolphin\n        command: touch ${machine.rebootRequest}\n        timeout: 5s\n`);
    const environment = env();
    let decisions = 0;
    const run = converse(
      args,
      (line) => {
        if (!/Answer retry \(keep waiting\) \| ask/.test(line)) return undefined;
        decisions++;
        return decisions === 1 ? 'ask' : 'pause';
      },
      environment,
    );
    await waitForLine(run, /asked of the sentinel: dolphin did not come back from its reboot \(step 1\.2\)/, 60_000);
    expect(run.lines.join('\n')).toMatch(/Waiting for their \/ok in the helper channel/);
    const join = run.lines
      .map((line) => /helpers join with: .+ \(or ssh -p (\d+) sentinel@127\.0\.0\.1\) · code (\d{3}-\d{3}-\d{3})/.exec(line))
      .find(Boolean)!;
    const helperDir = scratch('ns-reboot-helper-');
    terminal = TmuxSession.start(
      [
        'ssh',
        '-p',
        join[1]!,
        '-o',
        `UserKnownHostsFile=${path.join(helperDir, 'known_hosts')}`,
        '-o',
        'StrictHostKeyChecking=accept-new',
        '-o',
        'PubkeyAuthentication=no',
        'sentinel@127.0.0.1',
      ],
      { cols: 120, rows: 32, env: { SSH_AUTH_SOCK: '' } },
    );
    await terminal.waitFor(/Join code/, 15_000);
    terminal.type(join[2]!);
    terminal.keys('Enter');
    const view = await terminal.waitFor(/YOUR TURN · 1\.2/, 15_000, "the request in the sentinel's view");
    // The whole request, wrapped inside the task's box.
    const unwrapped = view.replace(/[║\s]+/g, ' ');
    expect(unwrapped).toContain('dolphin did not come back from its reboot (step 1.2).');
    expect(unwrapped).toContain('power-cycle it. Type /ok once it is starting again.');

    // The sentinel power-cycles the machine and says so: nightshift goes back to waiting and finds it.
    machine.bringBack();
    terminal.type('/ok');
    terminal.keys('Enter');
    const code = await run.exited;
    const text = run.lines.join('\n');
    expect(code, text + run.stderr()).toBe(0);
    expect(text).toMatch(/nightshift: still waiting for dolphin to come back from the reboot/);
    expect(text).toMatch(/dolphin\| back on dolphin/);
    expect(decisions).toBe(1);
    expect(machine.reboots).toBe(1);

    const sessions = path.join(environment.NIGHTSHIFT_STATE_DIR, 'sessions');
    const journal = readJournal(path.join(sessions, readdirSync(sessions)[0]!, 'journal.jsonl')) as unknown as Array<Record<string, unknown>>;
    expect(journal).toContainEqual(expect.objectContaining({ type: 'decision', action: 'ask-site', reason: expect.stringContaining('power-cycle it') }));
    expect(journal).toContainEqual(
      expect.objectContaining({ type: 'step.confirmed', role: 'sentinel', relayed: false, by: expect.objectContaining({ role: 'sentinel' }) }),
    );
  });

  it.skipIf(!tmuxAvailable())('full screen: a asks the site, the request is shown, r stops waiting for them and waits for the host', async () => {
    machine = await RebootableMachine.start('dolphin');
    machine.rebootOnRequest({ downForMs: 'until told' });
    const args = runbookFor(machine, `      - reboot: dolphin\n        command: touch ${machine.rebootRequest}\n        timeout: 5s\n`).filter(
      (arg) => arg !== '--plain',
    );
    terminal = TmuxSession.start([process.execPath, BIN, ...args], { cwd: ROOT, cols: 160, rows: 40, env: env() });
    const failed = await terminal.waitFor(/FAILED · 1\.2 reboot dolphin/, 60_000, 'the reboot past its bound');
    expect(failed).toContain('r keep waiting · a ask the sentinel to look at it');
    terminal.keys('a');
    const asked = await terminal.waitFor(/ASKED OF THE SITE · 1\.2 reboot dolphin · waiting for the sentinel/, 10_000, 'the request on screen');
    expect(asked.replace(/[│\s]+/g, ' ')).toContain('dolphin did not come back from its reboot (step 1.2).');
    expect(asked).toContain('r keep waiting without them');
    machine.bringBack();
    terminal.keys('r');
    await terminal.waitFor(/The run completed\./, 60_000, 'the run completed after waiting for the host');
    expect(machine.reboots).toBe(1);
  });

  it('a machine that ignores the reboot is noticed: the same boot id is not taken for a reboot', async () => {
    machine = await RebootableMachine.start('dolphin');
    const args = runbookFor(machine, `      - reboot: dolphin\n        command: "true"\n        timeout: 2s\n`);
    let asked = 0;
    const run = converse(
      args,
      (line) => {
        if (!/Answer retry/.test(line)) return undefined;
        asked++;
        return asked === 1 ? 'retry' : 'pause';
      },
      env(),
    );
    expect(await run.exited).toBe(4);
    const text = run.lines.join('\n');
    expect(text).toMatch(/did not finish within 2\.0s/);
    expect(text).toMatch(/dolphin did not go down within 2\.0s of being told to reboot; it still runs with the same boot id [0-9a-f-]{36}\./);
  });

  describe('a machine that comes back as the restored system, with its own host key', () => {
    /** The old key until phase prepare, the restored system's from phase boot: the runbook declares the transition. */
    async function declaredRunbook(target: RebootableMachine) {
      const dir = scratch('ns-reboot-keys-');
      const restoredKey = await generateKeyPair(dir, 'restored_host_key', { comment: 'restored' });
      const { sshd } = target;
      writeFileSync(path.join(dir, 'ssh_config'), sshd.clientConfig('dolphin'));
      const knownHosts = path.join(dir, 'known_hosts');
      writeFileSync(knownHosts, '');
      writeFileSync(
        path.join(dir, 'reboot.yaml'),
        [
          'name: reboot into the restored system',
          'hosts:',
          '  dolphin:',
          '    host_keys:',
          `      - key: ${JSON.stringify(sshd.hostKey().publicKey)}`,
          '        until: prepare',
          `      - key: ${JSON.stringify(restoredKey.publicKey)}`,
          '        from: boot',
          'phases:',
          '  - name: prepare',
          '    steps:',
          '      - run: echo old system on $(hostname)',
          '        host: dolphin',
          '  - name: boot',
          '    steps:',
          '      - reboot: dolphin',
          `        command: touch ${target.rebootRequest}`,
          '        timeout: 1m',
          '      - run: echo restored system on $(hostname)',
          '        host: dolphin',
          '',
        ].join('\n'),
      );
      const args = ['run', '--plain', path.join(dir, 'reboot.yaml'), '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', knownHosts];
      return { args, restoredKey, knownHosts };
    }

    it('is accepted in the phase that declares that key, without asking and without touching known_hosts', async () => {
      machine = await RebootableMachine.start('dolphin');
      const { args, restoredKey, knownHosts } = await declaredRunbook(machine);
      machine.rebootOnRequest({ downForMs: 1000, nextHostKey: restoredKey });
      const run = converse(args, (line) => (/Answer retry|\[y\/N\]/.test(line) ? 'pause' : undefined), env());
      const text = () => run.lines.join('\n') + run.stderr();
      expect(await run.exited, text()).toBe(0);
      expect(text()).toMatch(/dolphin\| old system on dolphin/);
      expect(text()).toMatch(/dolphin\| nightshift: dolphin is back: boot id [0-9a-f-]{36}/);
      expect(text()).toMatch(/dolphin\| restored system on dolphin/);
      expect(text()).not.toMatch(/fingerprint/i);
      expect(readFileSync(knownHosts, 'utf8')).toBe('');
    });

    it('is refused when another key comes back, naming both fingerprints and the phase', async () => {
      machine = await RebootableMachine.start('dolphin');
      const { args, restoredKey } = await declaredRunbook(machine);
      const stranger = await generateKeyPair(machine.dir, 'stranger_host_key', { comment: 'stranger' });
      machine.rebootOnRequest({ downForMs: 500, nextHostKey: stranger });
      const run = converse(args, (line) => (/Answer retry|\[y\/N\]/.test(line) ? 'pause' : undefined), env());
      expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(4);
      const text = run.lines.join('\n');
      expect(text).toContain(`the server sent ${stranger.fingerprint}`);
      expect(text).toMatch(/not one the runbook declares for phase boot/);
      expect(text).toContain(`declared for phase boot: ${restoredKey.fingerprint}`);
      expect(text).not.toMatch(/restored system on/);
    });
  });
});
