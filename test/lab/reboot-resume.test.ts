// kill -9 while a lab machine boots its new root once (reboot: into:), then resume, on a real
// boot: the reboot's facts were journaled before it was issued, so whichever way the
// upgrader answers, the resumed session waits for the machine, verifies that the new root
// runs, and only then makes its entry the default; the machine is not rebooted again.
// About 2 minutes per answer under emulation (lab up, a copy of the root, one boot).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { labStateDir } from '../../src/lab/vm/paths.js';
import type { LabState } from '../../src/lab/vm/lab.js';
import { readJournal } from '../../src/store/journal.js';
import { BIN, converse, freshStateDir, ROOT, type Conversation } from '../support/cli.js';

const run = promisify(execFile);
const MINUTES = 60_000;
const RUNBOOK = path.join(ROOT, 'test/lab/fixtures/reboot-resume.yaml');
// The question after the resume (any wording that offers retry and done).
const INTERRUPTED = /Answer retry .*\| done REASON/;
const DEFAULT_LINE = 'if [ -z "${boot_once}" ]; then set default="nightshift-boot"; fi';

describe('a reboot into a new root, nightshift killed while the machine boots, then resumed', () => {
  let up = false;
  const conversations: Conversation[] = [];
  const stateDirs: string[] = [];
  afterEach(async () => {
    for (const conversation of conversations.splice(0)) if (conversation.child.exitCode === null) conversation.child.kill('SIGKILL');
    if (up) await run(process.execPath, [BIN, 'lab', 'down', RUNBOOK], { cwd: ROOT, timeout: 120_000 });
    up = false;
    for (const dir of stateDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function labUp(): Promise<LabState> {
    up = true;
    await run(process.execPath, [BIN, 'lab', 'up', RUNBOOK], { cwd: ROOT, timeout: 15 * MINUTES });
    return JSON.parse(readFileSync(path.join(labStateDir('reboot-resume'), 'lab.json'), 'utf8')) as LabState;
  }

  async function ssh(state: LabState, command: string): Promise<string> {
    const { stdout } = await run(
      'ssh',
      ['-F', state.sshConfig, '-o', `UserKnownHostsFile=${state.knownHosts}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', 'dolphin', command],
      { timeout: 60_000 },
    );
    return stdout.trim();
  }

  const boots = (state: LabState) => (readFileSync(path.join(state.dir, 'dolphin', 'serial.log'), 'utf8').match(/Linux version/g) ?? []).length;

  for (const answer of ['done its console shows the new system starting', 'retry']) {
    const word = answer.split(' ')[0]!;
    it(
      `${word}: the new root is verified, then made the default; no second reboot`,
      async () => {
        const state = await labUp();
        expect(boots(state)).toBe(1);
        const stateDir = freshStateDir();
        stateDirs.push(stateDir);
        const env = { NIGHTSHIFT_STATE_DIR: stateDir };
        const kept = (conversation: Conversation) => (conversations.push(conversation), conversation);

        const first = kept(converse(['run', RUNBOOK, '--lab', '--plain', '--no-helpers'], () => undefined, env));
        const wentDown = new Promise<void>((resolve) =>
          first.child.stdout.on('data', (chunk: Buffer) => /dolphin went down; waiting for it to come back/.test(chunk.toString()) && resolve()),
        );
        await Promise.race([wentDown, first.exited]);
        first.child.kill('SIGKILL');
        await first.exited;
        const sessions = path.join(stateDir, 'sessions');
        const journalFile = path.join(sessions, readdirSync(sessions)[0]!, 'journal.jsonl');
        const before = readJournal(journalFile);
        expect(
          before.find((entry) => entry.type === 'reboot.prepared'),
          first.lines.join('\n'),
        ).toMatchObject({
          stepId: 'boot',
          bootId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          oneShot: expect.objectContaining({ entry: 'nightshift-boot', device: '/dev/vdb1' }),
        });
        expect(before.map((entry) => entry.type)).toContain('reboot.down');

        // Any other question (a failure) pauses: the run ends, and what it printed tells why.
        const resumed = kept(
          converse(['resume', '--plain'], (line) => (INTERRUPTED.test(line) ? answer : /Answer retry/.test(line) ? 'pause' : undefined), env),
        );
        const code = await resumed.exited;
        const text = resumed.lines.join('\n');
        expect(code, text + resumed.stderr()).toBe(0);
        expect(text).toMatch(
          /the reboot of dolphin was issued at .* \(seen going down; boot id before: [0-9a-f-]{36}; one-shot entry nightshift-boot for \/dev\/vdb1\)/,
        );
        expect(text).toMatch(/dolphin\| nightshift: dolphin runs on the new root \/dev\/vdb1/);
        expect(text).toMatch(/dolphin\| nightshift: nightshift-boot is now dolphin's default boot entry/);
        expect(text).toMatch(/^dolphin\| \/dev\/vdb1$/m);
        expect(text).not.toMatch(/rebooting dolphin:|FALLBACK/);

        // On the machine: the new root runs, and the old root's GRUB makes its entry the default.
        expect(await ssh(state, 'findmnt -no SOURCE /')).toBe('/dev/vdb1');
        const custom = await ssh(state, 'mkdir -p /mnt/old && mount -o ro /dev/vda1 /mnt/old && cat /mnt/old/boot/grub/custom.cfg; umount /mnt/old');
        expect(custom.split('\n')).toContain(DEFAULT_LINE);
        expect(boots(state)).toBe(2);

        const entries = readJournal(journalFile);
        expect(entries.filter((entry) => entry.type === 'reboot.prepared')).toHaveLength(1);
        expect(entries).toContainEqual(
          expect.objectContaining({ type: 'reboot.verified', stepId: 'boot', root: '/dev/vdb1', defaultEntry: 'nightshift-boot' }),
        );
        expect(entries).toContainEqual(expect.objectContaining({ type: 'decision', stepId: 'boot', action: word === 'done' ? 'mark-done' : 'retry' }));
        expect(entries.map((entry) => entry.type)).not.toContain('fallback.started');
      },
      15 * MINUTES,
    );
  }
});
