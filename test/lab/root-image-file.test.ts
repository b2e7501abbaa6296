// The root filesystem in an image file rehearsed on a virtual machine: prepared, upgraded
// and reverted in one run, each by a reboot through the initramfs's renames; and once with a
// new image that panics (the machine comes back on the previous image by itself).
import { describe, expect, it } from 'vitest';
import { journalTypes, labPerTest, rehearse } from '../support/lab.js';

const MINUTES = 60_000;
// The fault: the new image's init exits at once, and the kernel panics.
const BREAK_NEW_IMAGE =
  'mkdir -p /mnt/broken && mount -o loop /images/root-new.img /mnt/broken && rm /mnt/broken/sbin/init && ' +
  "printf '#!/bin/sh\\nexit 1\\n' > /mnt/broken/sbin/init && chmod 755 /mnt/broken/sbin/init && umount /mnt/broken && sync";
// The kernel that runs is the one in the image GRUB opened, with its modules in that image.
const KERNEL_FROM_IMAGE =
  'grep -o "BOOT_IMAGE=[^ ]*" /proc/cmdline; test "$(readlink /vmlinuz)" = "boot/vmlinuz-$(uname -r)" && test -d /lib/modules/$(uname -r) && echo ok';

describe('root-image-file.yaml on a lab machine', () => {
  const startLab = labPerTest();

  it(
    'boots root.img and its kernel from the images partition, upgrades to root-new.img, and reverts to the previous image',
    async () => {
      const lab = await startLab('root-image-file.yaml');
      const hostKey = await lab.ssh('node3', 'cat /etc/ssh/ssh_host_ed25519_key.pub');
      const { code, text, stateDir } = await rehearse(lab);
      expect(code, text).toBe(0);
      // Three reboots, each back on a loop-mounted image, each with the kernel in it.
      expect(text.match(/node3\| nightshift: node3 runs on \/dev\/loop0 as expected/g)).toHaveLength(3);
      expect(text).toMatch(/node3\| node3 runs bookworm-1 with its kernel /);
      expect(text).toMatch(/node3\| node3 runs bookworm-2 with its kernel /);
      expect(journalTypes(stateDir)).not.toContain('fallback.started');

      // The machine runs the first image again, as itself; the upgrade is kept aside as root-broken.img.
      expect(await lab.ssh('node3', 'hostname; findmnt -no SOURCE /; losetup -nO BACK-FILE /dev/loop0; cat /etc/nightshift-image-version')).toBe(
        'node3\n/dev/loop0\n/images/root.img\nbookworm-1',
      );
      expect(await lab.ssh('node3', KERNEL_FROM_IMAGE)).toBe('BOOT_IMAGE=(loop)/vmlinuz\nok');
      expect(await lab.ssh('node3', 'cat /etc/ssh/ssh_host_ed25519_key.pub')).toBe(hostKey);
      expect(await lab.ssh('node3', 'cd /images && ls -d root*.img system-* 2>/dev/null; true')).toBe('root-broken.img\nroot.img');
      expect(await lab.ssh('node3', "debugfs -R 'cat /etc/nightshift-image-version' /images/root-broken.img 2>/dev/null")).toBe('bookworm-2');
      // Each rename was the initramfs's, on the console; GRUB chose the image the renames left.
      const console = lab.serialLog('node3');
      expect(console).toMatch(/imgroot: root-new\.img becomes root\.img, root\.img becomes root-old\.img/);
      expect(console).toMatch(/imgroot: system-revert: root\.img becomes root-broken\.img, root-old\.img becomes root\.img/);
      expect(console).not.toMatch(/imgroot: root\.img was not confirmed/);
      expect(console).toMatch(/Root image file: \/root-new\.img/);
      expect(console).toMatch(/Root image file: \/root-old\.img/);
    },
    40 * MINUTES,
  );

  it(
    'a new image that panics brings the previous image back by itself; the run falls back and ends on it',
    async () => {
      const lab = await startLab('root-image-file.yaml');
      const { code, text, stateDir, done } = await rehearse(lab, {
        interventions: [{ question: /Ready to boot the new image/, act: () => lab.ssh('node3', BREAK_NEW_IMAGE) }],
      });
      expect(code, text).toBe(3);
      expect(done).toEqual([true]);
      expect(text).toMatch(/node3 came back on the image bookworm-1, not on bookworm-2/);
      expect(text).toMatch(/FALLBACK started/);
      expect(journalTypes(stateDir)).toContain('fallback.started');
      const console = lab.serialLog('node3');
      expect(console).toMatch(/Root image file: \/root-new\.img/);
      expect(console).toMatch(/Kernel panic/);
      expect(console).toMatch(/Root image file: \/root-old\.img/);
      expect(console).toMatch(/imgroot: root\.img was not confirmed: reverting/);

      // The previous image runs again, confirmed, with the kernel in it; the broken one is set aside.
      expect(await lab.ssh('node3', 'findmnt -no SOURCE /; losetup -nO BACK-FILE /dev/loop0; cat /etc/nightshift-image-version')).toBe(
        '/dev/loop0\n/images/root.img\nbookworm-1',
      );
      expect(await lab.ssh('node3', KERNEL_FROM_IMAGE)).toBe('BOOT_IMAGE=(loop)/vmlinuz\nok');
      expect(await lab.ssh('node3', 'cd /images && ls -d root*.img system-* 2>/dev/null; true')).toBe('root-broken.img\nroot.img');
      expect(await lab.ssh('node3', "debugfs -R 'cat /etc/nightshift-image-version' /images/root-broken.img 2>/dev/null")).toBe('bookworm-2');
    },
    40 * MINUTES,
  );
});
