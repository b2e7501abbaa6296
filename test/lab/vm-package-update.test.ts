// The package update rehearsed across two lab guests, each with a mirror of its own.
import { describe, expect, it } from 'vitest';
import { labPerTest, rehearse } from '../support/lab.js';

describe('vm-package-update.yaml on lab machines', () => {
  const startLab = labPerTest();

  it(
    'updates both guests from the mirror, keeps the kernel and the local configuration, turns off smartd',
    async () => {
      const lab = await startLab('vm-package-update.yaml');
      const { code, text } = await rehearse(lab);
      expect(code, text).toBe(0);
      expect(text).toMatch(/vm1\| -setting=changed-here/);
      for (const machine of ['vm1', 'vm2']) {
        expect(await lab.ssh(machine, "dpkg-query -W -f='${Version}' office-tools")).toBe('1.1');
        expect(await lab.ssh(machine, 'cat /etc/office-tools.conf; cat /var/backups/settled/etc/office-tools.conf.dpkg-dist')).toBe(
          'setting=changed-here\nsetting=default-2',
        );
        expect(await lab.ssh(machine, 'apt-mark showmanual "linux-image-$(uname -r)"')).toMatch(/^linux-image-/);
        expect(await lab.ssh(machine, 'systemctl is-enabled smartd.service || true')).toBe('disabled');
      }
    },
    20 * 60_000,
  );
});
