// The root filesystem in an image file rehearsed on a virtual machine: prepared, upgraded
// and reverted in one run, each by a reboot through the initramfs's renames.
import { describe, expect, it } from 'vitest';
import { journalTypes, labPerTest, rehearse } from '../support/lab.js';

const MINUTES = 60_000;

describe('root-image-file.yaml on a lab machine', () => {
  const startLab = labPerTest();

  it(
    'boots root.img from the images partition, upgrades to root-new.img, and reverts to the previous image',
    async () => {
      const lab = await startLab('root-image-file.yaml');
      const hostKey = await lab.ssh('node3', 'cat /etc/ssh/ssh_host_ed25519_key.pub');
      const { code, text, stateDir } = await rehearse(lab);
      expect(code, text).toBe(0);
      // Three reboots, each back on a loop-mounted image.
      expect(text.match(/node3\| nightshift: node3 runs on \/dev\/loop0 as expected/g)).toHaveLength(3);
      expect(journalTypes(stateDir)).not.toContain('fallback.started');

      // The machine runs the first image again, as itself; the upgrade is kept aside as root-broken.img.
      expect(await lab.ssh('node3', 'hostname; findmnt -no SOURCE /; losetup -nO BACK-FILE /dev/loop0; cat /etc/nightshift-image-version')).toBe(
        'node3\n/dev/loop0\n/images/root.img\nbookworm-1',
      );
      expect(await lab.ssh('node3', 'cat /etc/ssh/ssh_host_ed25519_key.pub')).toBe(hostKey);
      expect(await lab.ssh('node3', 'cd /images && ls -d root*.img system-* 2>/dev/null; true')).toBe('root-broken.img\nroot.img');
      expect(await lab.ssh('node3', "debugfs -R 'cat /etc/nightshift-image-version' /images/root-broken.img 2>/dev/null")).toBe('bookworm-2');
      // Each rename was the initramfs's, on the console.
      const console = lab.serialLog('node3');
      expect(console).toMatch(/imgroot: root-new\.img becomes root\.img, root\.img becomes root-old\.img/);
      expect(console).toMatch(/imgroot: system-revert: root\.img becomes root-broken\.img, root-old\.img becomes root\.img/);
      expect(console).not.toMatch(/imgroot: root\.img was not confirmed/);
    },
    40 * MINUTES,
  );
});
