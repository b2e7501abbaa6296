// The package update rehearsed across two lab guests, each with a mirror of its own.
import { describe, expect, it } from 'vitest';
import { labPerTest, rehearse } from '../support/lab.js';

const GUESTS = ['vm1', 'vm2'] as const;

describe('vm-package-update.yaml on lab machines', () => {
  const startLab = labPerTest();

  it(
    'updates both guests from the mirror with the new dependency upgrade would hold back, keeps the kernel and the local configuration, turns off smartd, reboots each',
    async () => {
      const lab = await startLab('vm-package-update.yaml');
      const bootIds = new Map<string, string>();
      for (const machine of GUESTS) {
        bootIds.set(machine, await lab.ssh(machine, 'cat /proc/sys/kernel/random/boot_id'));
        // What the runbook must not do: a plain upgrade keeps office-tools 1.1 back (its new dependency is a new package).
        const apt = '-o Dir::Etc::SourceList=/tmp/mirror.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=/tmp/lists';
        expect(
          await lab.ssh(
            machine,
            `echo 'deb [trusted=yes] file:/srv/mirror ./' > /tmp/mirror.list && mkdir -p /tmp/lists/partial && apt-get ${apt} -q update >/dev/null && apt-get ${apt} -s upgrade`,
          ),
        ).toMatch(/kept back:\n\s+office-tools\b/);
      }
      const { code, text } = await rehearse(lab);
      expect(code, text).toBe(0);
      expect(text).toMatch(/vm1\| -setting=changed-here/);
      expect(text).toMatch(/vm1\| nothing held back/);
      // The dnf/yum steps are skipped on these Debian guests, each saying why.
      expect(text).toMatch(/skipped 1\.6 Keep the running kernel's packages \(dnf\/yum\): when host\.distro =~ .* \(.*"debian"/);
      expect(text).toMatch(/skipped 2\.9 Nothing is held back \(dnf\/yum\): when /);
      for (const machine of GUESTS) {
        expect(await lab.ssh(machine, "dpkg-query -W -f='${Package} ${Version} ${Status}\\n' office-tools office-tools-abi2")).toBe(
          'office-tools 1.1 install ok installed\noffice-tools-abi2 1.1 install ok installed',
        );
        expect(await lab.ssh(machine, 'cat /etc/office-tools.conf; cat /var/backups/settled/etc/office-tools.conf.dpkg-dist')).toBe(
          'setting=changed-here\nsetting=default-2',
        );
        expect(await lab.ssh(machine, 'apt-mark showmanual "linux-image-$(uname -r)"')).toMatch(/^linux-image-/);
        expect(await lab.ssh(machine, 'systemctl is-enabled smartd.service || true')).toBe('disabled');
        const bootId = await lab.ssh(machine, 'cat /proc/sys/kernel/random/boot_id');
        expect(bootId).toMatch(/^[0-9a-f-]{36}$/);
        expect(bootId, `${machine} was not rebooted`).not.toBe(bootIds.get(machine));
      }
    },
    25 * 60_000,
  );
});
