// The jump through the swap partition rehearsed on a virtual machine: once to success, once
// with a jump system that panics (the machine comes back on its old system by itself).
import { describe, expect, it } from 'vitest';
import { journalTypes, labPerTest, rehearse } from '../support/lab.js';

const MINUTES = 60_000;
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
});
