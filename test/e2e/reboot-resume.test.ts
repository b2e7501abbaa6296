// kill -9 while a reboot step waits for its host, then resume: the reboot's facts were
// journaled before it was issued, so the resumed session waits for the host and verifies it
// as a live one does, never issuing the reboot again; whichever way the upgrader answers.
// The machine reboots as far as SSH can tell (test/support/rebootable-machine.ts).
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { clientFlags, converse, freshStateDir, waitForLine, type Conversation } from '../support/cli.js';
import { canFakeReboots, RebootableMachine, type RebootOptions } from '../support/rebootable-machine.js';
import { generateKeyPair } from '../support/ssh-keys.js';
import { sshdInstalled } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';

const runnable = sshdInstalled() && canFakeReboots();
if (!runnable) console.warn('\n*** the reboot resume tests need root, unshare and openssh-server: skipped ***\n');

const INTERRUPTED = /Answer retry \(wait for it and verify it\) \| done REASON \(verify it now\)/;

describe.skipIf(!runnable)('a reboot step in flight when nightshift is killed', () => {
  let machine: RebootableMachine | undefined;
  const conversations: Conversation[] = [];
  const folders: string[] = [];
  afterEach(async () => {
    for (const conversation of conversations.splice(0)) if (conversation.child.exitCode === null) conversation.child.kill('SIGKILL');
    for (const folder of folders.splice(0)) {
      const sessions = path.join(folder, 'sessions');
      for (const id of existsSync(sessions) ? readdirSync(sessions) : []) {
        rmSync(path.join(homedir(), '.local/state/nightshift/runs', id), { recursive: true, force: true });
      }
      rmSync(folder, { recursive: true, force: true });
    }
    await machine?.stop();
    machine = undefined;
  });

  /** A machine, a runbook whose reboot step has on_fail: fallback, and how to run and resume it. */
  async function fixture(reboot: RebootOptions, command?: (request: string, dir: string) => string) {
    const target = (machine = await RebootableMachine.start('dolphin'));
    target.rebootOnRequest(reboot);
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-reboot-resume-'));
    const stateDir = freshStateDir();
    folders.push(dir, stateDir);
    target.sshd.writeClientFiles(dir, 'dolphin');
    const issue = command ? command(target.rebootRequest, dir) : `touch ${target.rebootRequest}`;
    writeFileSync(
      path.join(dir, 'reboot.yaml'),
      [
        'name: reboot resume',
        'hosts:',
        '  dolphin: {}',
        'phases:',
        '  - name: boot',
        '    steps:',
        '      - id: boot',
        '        reboot: dolphin',
        `        command: ${JSON.stringify(issue)}`,
        '        hostname: dolphin',
        '        timeout: 1m',
        '        on_fail: fallback',
        '      - id: after',
        '        run: echo back on $(hostname)',
        '        host: dolphin',
        'fallback:',
        '  - id: back',
        '    local: echo fell back',
        '',
      ].join('\n'),
    );
    const env = { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' };
    const kept = (conversation: Conversation) => (conversations.push(conversation), conversation);
    const journal = () => {
      const sessions = path.join(stateDir, 'sessions');
      return readJournal(path.join(sessions, readdirSync(sessions)[0]!, 'journal.jsonl'));
    };
    return {
      dir,
      target,
      journal,
      run: () => kept(converse(['run', '--plain', path.join(dir, 'reboot.yaml'), ...clientFlags(dir)], () => undefined, env)),
      resume: (answer: (line: string) => string | undefined) => kept(converse(['resume', '--plain'], answer, env)),
    };
  }

  /** Runs until the machine has been told to reboot and went down, then kill -9. */
  async function killedWhileRebooting(fx: Awaited<ReturnType<typeof fixture>>): Promise<void> {
    const first = fx.run();
    await waitFor(() => fx.target.reboots === 1, { what: 'the reboot', timeoutMs: 20_000 });
    first.child.kill('SIGKILL');
    await first.exited;
  }

  for (const answer of ['done the console shows it starting', 'retry']) {
    const word = answer.split(' ')[0];
    it(`${word}: the resumed session waits for the host, verifies it, and goes on; the machine rebooted once`, async () => {
      const fx = await fixture({ downForMs: 'until told' });
      await killedWhileRebooting(fx);
      // On disk before the reboot was issued: the boot id it had then.
      const prepared = fx.journal().find((entry) => entry.type === 'reboot.prepared');
      expect(prepared).toMatchObject({ stepId: 'boot', attempt: 1, host: 'dolphin', bootId: expect.stringMatching(/^[0-9a-f-]{36}$/) });

      const resumed = fx.resume((line) => {
        if (!INTERRUPTED.test(line)) return undefined;
        setTimeout(() => fx.target.bringBack(), 500);
        return answer;
      });
      const code = await resumed.exited;
      const text = resumed.lines.join('\n');
      expect(code, text + resumed.stderr()).toBe(0);
      expect(text).toMatch(/1\.1 reboot dolphin was interrupted: nightshift stopped while attempt 1 rebooted dolphin/);
      expect(text).toMatch(
        /the reboot of dolphin was issued at \d\d:\d\d:\d\d and not seen through \((seen|not seen) going down; boot id before: [0-9a-f-]{36}\)/,
      );
      expect(text).toMatch(/nightshift: still waiting for dolphin to come back from the reboot issued at/);
      expect(text).toMatch(/nightshift: dolphin is back: boot id [0-9a-f-]{36}, hostname dolphin/);
      expect(text).toMatch(/dolphin\| back on dolphin/);
      expect(text).not.toMatch(/rebooting dolphin:|FALLBACK/);
      expect(fx.target.reboots).toBe(1);
      const entries = fx.journal();
      expect(entries.filter((entry) => entry.type === 'reboot.prepared')).toHaveLength(1);
      expect(entries).toContainEqual(expect.objectContaining({ type: 'reboot.back', stepId: 'boot', hostname: 'dolphin' }));
      expect(entries).toContainEqual(expect.objectContaining({ type: 'reboot.verified', stepId: 'boot' }));
      expect(entries).toContainEqual(expect.objectContaining({ type: 'step.finished', stepId: 'boot', status: 'done' }));
      expect(entries).toContainEqual(expect.objectContaining({ type: 'decision', stepId: 'boot', action: word === 'done' ? 'mark-done' : 'retry' }));
      expect(entries.map((entry) => entry.type)).not.toContain('fallback.started');
    }, 90_000);
  }

  it('killed after the reboot was issued but before the host went down: retry waits for it to go down and come back', async () => {
    const fx = await fixture({ downForMs: 1000 }, (request, dir) => `touch ${dir}/issued; (sleep 3; touch ${request}) >/dev/null 2>&1 &`);
    const first = fx.run();
    await waitFor(() => existsSync(path.join(fx.dir, 'issued')), { what: 'the reboot command', timeoutMs: 20_000 });
    first.child.kill('SIGKILL');
    await first.exited;
    expect(fx.target.reboots).toBe(0);
    const resumed = fx.resume((line) => (INTERRUPTED.test(line) ? 'retry' : undefined));
    const code = await resumed.exited;
    const text = resumed.lines.join('\n');
    expect(code, text + resumed.stderr()).toBe(0);
    expect(text).toMatch(/not seen going down/);
    expect(text).toMatch(/nightshift: dolphin still runs the system it was told to reboot; waiting for it to go down/);
    expect(text).toMatch(/nightshift: dolphin is back: boot id/);
    expect(fx.target.reboots).toBe(1);
  }, 90_000);

  it('a connection failure inside the retry (another host key came back) asks the upgrader instead of falling back', async () => {
    const keys = mkdtempSync(path.join(tmpdir(), 'ns-reboot-resume-key-'));
    folders.push(keys);
    const stranger = await generateKeyPair(keys, 'stranger_host_key', { comment: 'stranger' });
    const fx = await fixture({ downForMs: 'until told', nextHostKey: stranger });
    await killedWhileRebooting(fx);
    let questions = 0;
    // Asked again after the failed retry: then it pauses.
    const resumed = fx.resume((line) => {
      if (!/Answer retry/.test(line)) return undefined;
      questions++;
      if (questions > 1) return 'pause';
      setTimeout(() => fx.target.bringBack(), 500);
      return 'retry';
    });
    await waitForLine(resumed, /FAILED 1\.1 reboot dolphin .*The host key of dolphin .* does not match/, 60_000);
    const code = await resumed.exited;
    const text = resumed.lines.join('\n');
    expect(code, text + resumed.stderr()).toBe(4);
    expect(questions).toBe(2);
    expect(text).not.toMatch(/FALLBACK|fell back/);
    expect(fx.journal().map((entry) => entry.type)).not.toContain('fallback.started');
    expect(fx.target.reboots).toBe(1);
  }, 90_000);
});
