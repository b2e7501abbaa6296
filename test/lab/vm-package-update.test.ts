// The package update rehearsed as a rollout over three lab guests, each with a mirror of its
// own: vm1 is the canary and is updated; vm2 holds office-tools (apt-mark hold), so its
// update leaves it behind and the check that nothing is held back fails there; the upgrader
// falls vm2 back, and with max_fail 0 the rollout halts before vm3's batch, which never starts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { converse, freshStateDir } from '../support/cli.js';
import { labPerTest, rehearsalAnswer, sessionIds } from '../support/lab.js';

const GUESTS = ['vm1', 'vm2', 'vm3'] as const;
const PAUSED = 4;

interface Entry {
  type: string;
  host?: string;
  outcome?: string;
  failed?: string[];
}

function journalOf(stateDir: string): Entry[] {
  const [session] = sessionIds(stateDir);
  return readFileSync(path.join(stateDir, 'sessions', session!, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Entry);
}

describe('vm-package-update.yaml on lab machines', () => {
  const startLab = labPerTest();

  it(
    'updates the canary vm1, falls back vm2 whose update left a held package behind, and halts the rollout before vm3, which is left as it was',
    async () => {
      const lab = await startLab('vm-package-update.yaml');
      const bootIds = new Map<string, string>();
      for (const machine of GUESTS) bootIds.set(machine, await lab.ssh(machine, 'cat /proc/sys/kernel/random/boot_id'));
      // What the runbook must not do: a plain upgrade keeps office-tools 1.1 back (its new dependency is a new package).
      const apt = '-o Dir::Etc::SourceList=/tmp/mirror.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=/tmp/lists';
      expect(
        await lab.ssh(
          'vm1',
          `echo 'deb [trusted=yes] file:/srv/mirror ./' > /tmp/mirror.list && mkdir -p /tmp/lists/partial && apt-get ${apt} -q update >/dev/null && apt-get ${apt} -s upgrade`,
        ),
      ).toMatch(/kept back:\n\s+office-tools\b/);

      // The upgrader: the canary goes on, vm2's failure falls vm2 back, the halt is where they stop for the night.
      const stateDir = freshStateDir();
      let halted = false;
      let failedHost: string | undefined;
      const answers: string[] = [];
      const run = converse(
        lab.runArgs(),
        (line) =>
          rehearsalAnswer(line, (text) => {
            if (/rollout of phase update halted/.test(text)) halted = true;
            const failure = / failed on (vm\d)\b/.exec(text);
            if (failure) failedHost = failure[1];
            let answer: string | undefined;
            if (/to continue the rollout/.test(text)) answer = halted ? 'pause' : 'yes';
            else if (/Answer retry \| skip REASON \| fallback REASON/.test(text) && failedHost === 'vm2')
              answer = 'fallback rehearsal: vm2 holds office-tools, look at it by day';
            if (answer) answers.push(answer);
            return answer;
          }),
        { NIGHTSHIFT_STATE_DIR: stateDir },
      );
      const code = await run.exited;
      const text = `${run.lines.join('\n')}\n${run.stderr()}`;
      expect(code, text).toBe(PAUSED);
      expect(answers, text).toEqual(['yes', 'fallback rehearsal: vm2 holds office-tools, look at it by day', 'pause']);

      // vm1, the canary: updated from the mirror with the new dependency, its configuration kept, smartd off, rebooted.
      expect(text).toMatch(/vm1.* -setting=changed-here/);
      expect(text).toMatch(/vm1.* nothing held back/);
      expect(text).toMatch(/skipped \S+@vm1 Keep the running kernel's packages \(dnf\/yum\): when host\.distro =~ .* \(.*"debian"/);
      expect(await lab.ssh('vm1', "dpkg-query -W -f='${Package} ${Version} ${Status}\\n' office-tools office-tools-abi2")).toBe(
        'office-tools 1.1 install ok installed\noffice-tools-abi2 1.1 install ok installed',
      );
      expect(await lab.ssh('vm1', 'cat /etc/office-tools.conf; cat /var/backups/settled/etc/office-tools.conf.dpkg-dist')).toBe(
        'setting=changed-here\nsetting=default-2',
      );
      expect(await lab.ssh('vm1', 'apt-mark showmanual "linux-image-$(uname -r)"')).toMatch(/^linux-image-/);
      expect(await lab.ssh('vm1', 'systemctl is-enabled smartd.service || true')).toBe('disabled');
      expect(await lab.ssh('vm1', 'cat /proc/sys/kernel/random/boot_id'), 'vm1 was not rebooted').not.toBe(bootIds.get('vm1'));

      // vm2: stopped by the held package, named, then fallen back: off the chosen mirror, nothing half-installed, not rebooted.
      expect(text).toMatch(/vm2.* held back on vm2 \(newer on the mirror, not installed\): office-tools/);
      expect(text).toMatch(/vm2.* on hold \(apt-mark unhold to update them\): office-tools/);
      expect(text).toMatch(/vm2.* the chosen mirror is no longer a source of vm2; nothing is half-installed/);
      expect(await lab.ssh('vm2', "dpkg-query -W -f='${Version}' office-tools")).toBe('1.0');
      expect(await lab.ssh('vm2', 'ls /etc/apt/sources.list.d/')).not.toMatch(/chosen-mirror/);
      expect(await lab.ssh('vm2', 'cat /proc/sys/kernel/random/boot_id'), 'vm2 was rebooted').toBe(bootIds.get('vm2'));

      // The rollout halted after vm2's batch; vm3's batch never started, and vm3 is as it was.
      const journal = journalOf(stateDir);
      const halt = journal.find((entry) => entry.type === 'rollout.halted');
      expect(halt?.failed, text).toEqual(['vm2']);
      const outcomes = Object.fromEntries(journal.filter((entry) => entry.type === 'host.finished').map((entry) => [entry.host, entry.outcome]));
      expect(outcomes).toEqual({ vm1: 'done', vm2: 'fell-back' });
      expect(journal.some((entry) => entry.type === 'host.started' && entry.host === 'vm3')).toBe(false);
      expect(text).not.toMatch(/\S+@vm3 .*(started|done|failed)/);
      expect(await lab.ssh('vm3', "dpkg-query -W -f='${Version}' office-tools")).toBe('1.0');
      expect(await lab.ssh('vm3', 'ls /etc/apt/sources.list.d/; systemctl is-enabled smartd.service')).toBe('enabled');
      expect(await lab.ssh('vm3', 'cat /proc/sys/kernel/random/boot_id'), 'vm3 was rebooted').toBe(bootIds.get('vm3'));
    },
    25 * 60_000,
  );
});
