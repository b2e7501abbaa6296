// The jump through the swap partition rehearsed on a virtual machine: once to success, once
// with a jump system that panics (the machine comes back on its old system by itself), and
// once with a new system that hangs after the old root is gone (power-cycled, back on the
// jump system, and the rebuild made again from there).
import { describe, expect, it } from 'vitest';
import { journalTypes, labPerTest, rehearse, reportOf, sessionIds } from '../support/lab.js';

const MINUTES = 60_000;
const HANGING_INIT =
  "rm /mnt/new/sbin/init && printf '#!/bin/sh\\nwhile :; do sleep 3600; done\\n' > /mnt/new/sbin/init && chmod 755 /mnt/new/sbin/init && sync";
const EXITING_INIT = "rm /mnt/jump/sbin/init && printf '#!/bin/sh\\nexit 1\\n' > /mnt/jump/sbin/init && chmod 755 /mnt/jump/sbin/init && sync";

describe('jump-via-swap.yaml on a lab machine', () => {
  const startLab = labPerTest();

  it(
    'boots the jump system from the swap partition, rebuilds the root, and ends with swap back',
    async () => {
      const lab = await startLab('jump-via-swap.yaml');
      const hostKey = await lab.ssh('node7', 'cat /etc/ssh/ssh_host_ed25519_key.pub');
      const { code, text, stateDir } = await rehearse(lab);
      expect(code, text).toBe(0);
      expect(text).toMatch(/node7\| nightshift: node7 runs on the new root \/dev\/vda2/);
      expect(text).toMatch(/node7\| nightshift: node7 runs on the new root \/dev\/vda1/);
      // GRUB lived on the jump system while the old root was formatted, then came back to the new root.
      expect(text).toMatch(/node7\| GRUB's files: \/dev\/vda2; it starts \/dev\/vda2 by default/);
      expect(text).toMatch(/node7\| GRUB's files: \/dev\/vda1$/m);
      // After the swap partition is swap again, the machine boots its new system with nobody choosing.
      expect(text).toMatch(/node7\| nightshift: node7 runs on \/dev\/vda1 as expected/);
      // The machine kept its identity (same host key) on a system it did not have before.
      expect(await lab.ssh('node7', 'cat /etc/ssh/ssh_host_ed25519_key.pub')).toBe(hostKey);
      expect(await lab.ssh('node7', 'test -e /.restored && findmnt -no SOURCE / && swapon --show=NAME --noheadings')).toBe('/dev/vda1\n/dev/vda2');
      expect(journalTypes(stateDir)).not.toContain('fallback.started');
    },
    25 * MINUTES,
  );

  it(
    'a jump system that panics brings the old system back by itself; the fallback gives the swap back',
    async () => {
      const current = await startLab('jump-via-swap.yaml');
      const { code, text, stateDir, done } = await rehearse(current, {
        // The fault: the jump system's init exits at once, and the kernel panics.
        interventions: [{ question: /Ready to boot the jump system/, act: () => current.ssh('node7', EXITING_INIT) }],
      });
      expect(code, text).toBe(3);
      expect(done).toEqual([true]);
      expect(text).toMatch(/came back on its old root \(\/dev\/vda1\), not on \/dev\/vda2/);
      expect(text).toMatch(/FALLBACK started/);
      expect(current.serialLog('node7')).toMatch(/Kernel panic/);
      expect(await current.ssh('node7', 'findmnt -no SOURCE /; swapon --show=NAME --noheadings; blkid -o value -s UUID /dev/vda2')).toBe(
        '/dev/vda1\n/dev/vda2\n6e1a0a7e-0b5c-4d7e-9a51-5e7a1f000002',
      );
      expect(journalTypes(stateDir)).toContain('fallback.started');
    },
    25 * MINUTES,
  );

  it(
    'a new system that hangs after the old root is formatted is power-cycled back to the jump system; going again from the rebuild, node7 runs its new system',
    async () => {
      const lab = await startLab('jump-via-swap.yaml');
      const { code, text, stateDir, done } = await rehearse(lab, {
        interventions: [
          // The fault, after the point of no return: the new system's init never starts anything.
          { question: /Ready to boot the new system/, act: () => lab.ssh('node7', HANGING_INIT) },
          // Someone in the machine room holds the power button.
          { question: /Power-cycle node7 if it hangs/, act: () => lab.powerCycle('node7') },
        ],
      });
      expect(code, text).toBe(3);
      expect(done).toEqual([true, true]);
      expect(text).toMatch(/FAILED 3\.5 .*did not finish within 3m/);
      expect(text).toMatch(/FALLBACK of phase rebuild started/);
      expect(text).toMatch(/the run ended after the fallback of phase rebuild/);
      // The phase's own fallback: node7 is on the jump system, and the runbook's fallback (give the swap back) did not run.
      expect(text).toMatch(/node7\| node7 runs \/dev\/vda2; GRUB's files: \/dev\/vda2/);
      expect(text).not.toMatch(/The swap partition is swap again, with its old id/);
      expect(await lab.ssh('node7', 'findmnt -no SOURCE /')).toBe('/dev/vda2');
      expect(lab.serialLog('node7')).toMatch(/power on/);

      // The next morning: the rebuild made again from the jump system, without the jump itself again.
      const [first] = sessionIds(stateDir);
      const again = await rehearse(lab, { command: ['again', '--from', 'rebuild', '--plain', '--relay', '--no-helpers'], stateDir });
      expect(again.code, again.text).toBe(0);
      expect(again.text).toContain(`starting at phase rebuild, going again from session ${first}`);
      expect(again.text).not.toMatch(/FALLBACK started/);
      // The restore made again put the real init back.
      expect(await lab.ssh('node7', 'hostname; findmnt -no SOURCE /; swapon --show=NAME --noheadings; readlink -f /sbin/init')).toBe(
        'node7\n/dev/vda1\n/dev/vda2\n/usr/lib/systemd/systemd',
      );
      const second = sessionIds(stateDir)[1]!;
      const report = await reportOf(stateDir, second);
      expect(report).toContain(`Goes again from phase rebuild of session ${first}`);
      expect(report).toContain(`Done by session ${first}.`);
      expect(journalTypes(stateDir)).toContain('fallback.started');
    },
    35 * MINUTES,
  );
});
