// The gateway swap rehearsed on virtual machines, the run reaching the site only from the
// provider's side, through the gateway's address (the lab's upstream namespace): once to
// success, the guard committing after the cable and the checks from outside; once with a new
// root that hangs (the person on site power-cycles it); once with a wrong provider route
// after the swap, which cuts the upgrader off: both machines revert by themselves at the
// deadline and the run falls back through the old dragon; going again from the identity swap
// with the route fixed ends with the new dragon serving, as in the seed; once with the new
// dragon's main sshd gone deaf inside the guard, where its spare way in carries the run.
import { describe, expect, it } from 'vitest';
import { journalTypes, labPerTest, rehearse, reportOf, sessionIds } from '../support/lab.js';
import { guardEntries, onlySessionJournal } from '../support/session-journal.js';

const MINUTES = 60_000;
const HANGING_INIT =
  "rm /mnt/new/sbin/init && printf '#!/bin/sh\\nwhile :; do sleep 3600; done\\n' > /mnt/new/sbin/init && chmod 755 /mnt/new/sbin/init && sync";

describe('gateway-swap.yaml on lab machines', () => {
  const startLab = labPerTest();

  it(
    'dolphin boots its new system, becomes dragon, and answers as dragon from outside; the guard commits after the cable and the checks',
    async () => {
      const lab = await startLab('gateway-swap.yaml');
      const { code, text, stateDir } = await rehearse(lab);
      expect(code, text).toBe(0);
      expect(text).toMatch(/dolphin\| nightshift: dolphin runs on the new root \/dev\/vdb1/);
      expect(text).toMatch(/nightshift-first-boot-2 is now dolphin's default boot entry/);
      expect(text).toMatch(/nightshift: dolphin: a spare way in is up on port 2200/);
      expect(text).toMatch(/ok \d+\.\d+ The gateway's address is the new dragon now/);
      expect(guardEntries(stateDir)).toEqual(
        expect.arrayContaining([
          'guard.armed dolphin',
          'guard.armed dragon',
          'guard.committed dolphin',
          'guard.committed dragon',
          'guard.spare-stopped dolphin',
        ]),
      );
      // The commit came after the cable (8.1, cutover-1) and the last check from outside (9.4, verify-4).
      const journal = onlySessionJournal(stateDir);
      const finished = (stepId: string) => journal.findIndex((entry) => entry['type'] === 'step.finished' && entry['stepId'] === stepId);
      const committed = journal.findIndex((entry) => entry['type'] === 'guard.committed');
      expect(finished('cutover-1')).toBeGreaterThan(0);
      expect(committed).toBeGreaterThan(finished('cutover-1'));
      expect(committed).toBeGreaterThan(finished('verify-4'));
      expect(guardEntries(stateDir).filter((entry) => entry.startsWith('guard.fired'))).toEqual([]);

      // Seen from outside and from the machines themselves.
      expect(await lab.fromOutside('dig', '+short', '@192.168.10.1', 'dragon.taipei.lab')).toBe('192.168.10.1');
      expect(await lab.ssh('dolphin', 'hostname; findmnt -no SOURCE /')).toBe('dragon\n/dev/vdb1');
      expect(await lab.ssh('dragon', 'hostname')).toBe('dragon-old');
      // The new system is the default now: a plain reboot comes back on it.
      await lab.ssh('dolphin', 'systemd-run --on-active=1 reboot').catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      let root = '';
      for (let attempt = 0; attempt < 30 && root === ''; attempt++) {
        root = await lab.ssh('dolphin', 'findmnt -no SOURCE /', 20_000).catch(() => '');
        if (root === '') await new Promise((resolve) => setTimeout(resolve, 5000));
      }
      expect(root).toBe('/dev/vdb1');
      expect(journalTypes(stateDir)).not.toContain('fallback.started');
    },
    20 * MINUTES,
  );

  it(
    'a new root that hangs is power-cycled by the person on site; the old dragon serves again',
    async () => {
      const current = await startLab('gateway-swap.yaml');
      const { code, text, stateDir, done } = await rehearse(current, {
        interventions: [
          // The fault: just before the reboot, the new system's init becomes a process that never starts anything.
          { question: /Ready to reboot dolphin/, act: () => current.ssh('dolphin', HANGING_INIT) },
          // The person on site holds the power button.
          { question: /Power-cycle dolphin if it hangs/, act: () => current.powerCycle('dolphin') },
        ],
      });
      expect(code, text).toBe(3);
      expect(done).toEqual([true, true]);
      expect(text).toMatch(/FAILED 5\.2 .*did not finish within 3m/);
      expect(text).toMatch(/FALLBACK started/);
      expect(await current.ssh('dolphin', 'hostname; findmnt -no SOURCE /')).toBe('dolphin\n/dev/vda1');
      expect(await current.fromOutside('dig', '+short', '@192.168.10.1', 'dragon.taipei.lab')).toBe('192.168.10.1');
      expect(await current.ssh('dragon', 'hostname')).toBe('dragon');
      expect(journalTypes(stateDir)).toContain('fallback.started');
      expect(current.serialLog('dolphin')).toMatch(/power on/);
    },
    25 * MINUTES,
  );

  it(
    'a wrong route after the swap cuts the upgrader off; both machines revert by themselves at the deadline and the run falls back through the old dragon; going again with the route fixed, the new dragon serves',
    async () => {
      const lab = await startLab('gateway-swap.yaml');
      // The fault: the new dragon's route to the provider points at a machine that is not the
      // ISP's gateway, so its answers to the upgrader go nowhere.
      const { code, text, stateDir } = await rehearse(lab, { args: ['--var', 'route_via=203.0.113.254'] });
      expect(code, text).toBe(3);
      expect(text).toMatch(/nightshift: dragon: the revert ran at .* by itself, at its deadline and exited 0/);
      expect(text).toMatch(/nightshift: dolphin: the revert ran at .* by itself, at its deadline and exited 0/);
      expect(guardEntries(stateDir)).toEqual(expect.arrayContaining(['guard.fired dolphin by deadline', 'guard.fired dragon by deadline']));
      expect(text).toMatch(/FALLBACK started|fallback/i);
      expect(await lab.ssh('dragon', 'hostname')).toBe('dragon');
      expect(await lab.ssh('dolphin', 'hostname; ip -br -4 addr show eth1')).toMatch(/^dolphin\neth1 +UP +192\.168\.10\.20\/24/);
      // Seen from outside: dragon's name answers with its address, and that address is the old machine's network card.
      expect(await lab.fromOutside('dig', '+short', '@192.168.10.1', 'dragon.taipei.lab')).toBe('192.168.10.1');
      await lab.fromOutside('ping', '-c', '1', '-W', '3', '192.168.10.1');
      expect(await lab.fromOutside('ip', 'neigh', 'show', '192.168.10.1')).toContain('52:54:00:01:01:01');
      expect(journalTypes(stateDir)).toContain('fallback.started');
      // dragon's host keys went to dolphin through the upgrader's logins: only their names were shown.
      expect(text).toMatch(/\| etc\/ssh\/ssh_host_ed25519_key$/m);
      expect(text).not.toMatch(/PRIVATE KEY/);

      // The second night: the route fixed, going again from the identity swap, without redoing the restore.
      const [first] = sessionIds(stateDir);
      const again = await rehearse(lab, {
        command: ['again', '--from', 'identity-swap', '--plain', '--relay', '--no-helpers', '--var', 'route_via=203.0.113.1'],
        stateDir,
      });
      expect(again.code, again.text).toBe(0);
      expect(again.text).toContain(`starting at phase identity-swap, going again from session ${first}`);
      expect(again.text).not.toMatch(/FALLBACK started/);
      expect(await lab.fromOutside('dig', '+short', '@192.168.10.1', 'dragon.taipei.lab')).toBe('192.168.10.1');
      expect(await lab.ssh('dolphin', 'hostname; findmnt -no SOURCE /')).toBe('dragon\n/dev/vdb1');
      expect(await lab.ssh('dragon', 'hostname')).toBe('dragon-old');
      expect(await lab.ssh('dolphin', 'ip route get 198.51.100.1')).toMatch(/via 203\.0\.113\.1 dev wan0/);
      const ids = sessionIds(stateDir);
      expect(ids).toHaveLength(2);
      const second = ids.find((id) => id !== first)!;
      const secondReport = await reportOf(stateDir, second);
      expect(secondReport).toContain(`Goes again from phase identity-swap of session ${first}`);
      // The phases before the swap were done by the first night.
      expect(secondReport).toContain(`Done by session ${first}.`);
      expect(secondReport).toContain('Unpack root, /usr and /var onto the new disk');
      expect(await reportOf(stateDir, first!)).toContain(`Gone again in session ${second}`);
    },
    28 * MINUTES,
  );

  it(
    "the new dragon's main sshd stops answering inside the guard: its spare way in carries the checks and the commit",
    async () => {
      const lab = await startLab('gateway-swap.yaml');
      // The fault, once the cable has moved: the main sshd listens only on the management
      // card (the lab's view from the side), and every session it had is cut.
      const deaf = [
        "printf 'ListenAddress 10.0.2.15\\n' > /etc/ssh/sshd_config.d/zz-deaf.conf",
        'systemctl restart ssh',
        // Every session but the lab's own (from QEMU's user network) is cut.
        "ss -tnpH state established '( sport = :22 )' | grep -v '10\\.0\\.2\\.2:' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | xargs -r kill 2>/dev/null; true",
      ].join(' && ');
      const { code, text, stateDir, done } = await rehearse(lab, {
        interventions: [{ question: /Move the modem cable to the new dragon/, act: () => lab.ssh('dolphin', deaf) }],
      });
      expect(done).toEqual([true]);
      expect(code, text).toBe(0);
      const journal = onlySessionJournal(stateDir);
      const states = journal.filter((entry) => entry['type'] === 'host.state' && entry['host'] === 'dragon');
      expect(
        states.find((entry) => entry['through'] !== undefined),
        `${JSON.stringify(states, null, 1)}\n${text}`,
      ).toMatchObject({
        state: 'connected',
        through: expect.stringMatching(/^the spare way in on port 2200/),
      });
      expect(guardEntries(stateDir)).toEqual(expect.arrayContaining(['guard.committed dolphin', 'guard.committed dragon', 'guard.spare-stopped dolphin']));
      // The spare is gone after the commit; the new dragon is dragon.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(await lab.ssh('dolphin', 'hostname; ss -ltnH "sport = :2200" | wc -l')).toBe('dragon\n0');
    },
    25 * MINUTES,
  );
});
