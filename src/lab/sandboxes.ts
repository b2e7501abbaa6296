// The three machines of the Taipei office as folders. Each command the lab runs starts in
// its host's folder, so `etc/hostname` there is that machine's /etc/hostname.
import path from 'node:path';
import { createDiskImage, layoutScript, planDisk, type DiskPlan } from './disk-image.js';
import { lines, writeFileTree, type FileTree } from './file-tree.js';
import { buildRestoreTarballs } from './restore-tarballs.js';
import type { DemoScenario } from './demo-scenarios.js';
import { DISK_IMAGE, DISK_IMAGE_BYTES, SITE, type HostName } from './site-plan.js';

export type { DemoScenario } from './demo-scenarios.js';

const { domain } = SITE;

function hostsFile(...entries: Array<[string, string]>): string {
  return lines('127.0.0.1\tlocalhost', ...entries.map(([address, name]) => `${address}\t${name}.${domain} ${name}`));
}

function staticInterface(device: string, address: string, comment: string): string[] {
  return [`# ${comment}`, `auto ${device}`, `iface ${device} inet static`, `    address ${address}`, `    netmask ${SITE.netmask}`];
}

function interfacesFile(...interfaces: string[][]): string {
  return lines(
    'auto lo',
    'iface lo inet loopback',
    '',
    ...interfaces.flatMap((lines) => [...lines, '']),
    '# routes are in /etc/network/routes (read by /etc/init.d/network)',
  );
}

/** dragon's public zone; dolphin gets the same maps to serve as the new primary. */
function publicZone(): string {
  return lines(
    '$TTL 86400',
    `@\tIN SOA dragon.${domain}. hostmaster.${domain}. ( 1998051601 3600 900 604800 86400 )`,
    `@\tIN NS dragon.${domain}.`,
    `@\tIN MX 10 dragon.${domain}.`,
    `dragon\tIN A ${SITE.dragonPublic}`,
    'www\tIN A 203.0.113.20',
    'ftp\tIN CNAME www',
  );
}

function dragon(): FileTree {
  return {
    'etc/hostname': lines('dragon'),
    'etc/hosts': hostsFile([SITE.dragonPublic, 'dragon'], [SITE.dragonPrivate, 'dragon-int'], [SITE.elephant, 'elephant']),
    'etc/network/interfaces': interfacesFile(
      staticInterface('eth0', SITE.dragonPublic, 'public side: the modem and the ISP'),
      staticInterface('eth1', SITE.dragonPrivate, 'private side: the office'),
    ),
    'etc/network/routes': lines(
      `default via ${SITE.ispGateway} dev eth0`,
      `${SITE.publicNet} dev eth0 scope link src ${SITE.dragonPublic}`,
      `${SITE.privateNet} dev eth1 scope link src ${SITE.dragonPrivate}`,
    ),
    'etc/resolv.conf': lines(`search ${domain}`, `nameserver ${SITE.elephant}`),
    'etc/bind/named.conf.local': lines(`zone "${domain}" { type master; file "/etc/bind/db.${domain}"; };`),
    [`etc/bind/db.${domain}`]: publicZone(),
    'etc/mail/relay-domains': lines(domain),
    'var/log/messages': lines('May 16 07:58:01 dragon pppd[212]: local  IP address 203.0.113.10'),
    'var/backups/': '',
  };
}

function dolphin(plan: DiskPlan, scenario: DemoScenario): FileTree {
  const gateway = scenario === 'wrong-route' ? SITE.wrongGateway : SITE.ispGateway;
  return {
    'etc/hostname': lines('dolphin'),
    'etc/hosts': hostsFile([SITE.dolphin, 'dolphin'], [SITE.dragonPrivate, 'dragon-int'], [SITE.elephant, 'elephant']),
    'etc/network/interfaces': interfacesFile(staticInterface('eth0', SITE.dolphin, 'the office network')),
    'etc/network/routes': lines(`default via ${SITE.dragonPrivate} dev eth0`, `${SITE.privateNet} dev eth0 scope link src ${SITE.dolphin}`),
    'etc/resolv.conf': lines(`search ${domain}`, `nameserver ${SITE.elephant}`),
    'boot/grub/grub.cfg': lines(
      'set default="${saved_entry}"',
      'if [ -n "${next_entry}" ]; then set default="${next_entry}"; fi',
      'menuentry "old-root" {',
      `  linux (hd0,gpt1)/boot/vmlinuz root=PARTUUID=${plan.partUuids[0]} ro`,
      '}',
      'source /boot/grub/custom.cfg',
    ),
    'boot/grub/grubenv': lines('saved_entry=old-root'),
    'boot/grub/custom.cfg': '',
    'restore/layout.sfdisk': layoutScript(plan),
    // Prepared in Massachusetts with the tarballs: the routing table the new dragon will use.
    'restore/dragon.routes': lines(
      `default via ${gateway} dev eth0`,
      `${SITE.publicNet} dev eth0 scope link src ${SITE.dragonPublic}`,
      `${SITE.privateNet} dev eth1 scope link src ${SITE.dragonPrivate}`,
    ),
    [`restore/named/db.${domain}`]: publicZone(),
  };
}

function elephant(): FileTree {
  return {
    'etc/hostname': lines('elephant'),
    'etc/hosts': hostsFile([SITE.elephant, 'elephant'], [SITE.dragonPrivate, 'dragon-int']),
    'etc/network/interfaces': interfacesFile(staticInterface('eth0', SITE.elephant, 'the office network')),
    'etc/network/routes': lines(`default via ${SITE.dragonPrivate} dev eth0`, `${SITE.privateNet} dev eth0 scope link src ${SITE.elephant}`),
    'etc/resolv.conf': lines(`search ${domain}`, 'nameserver 127.0.0.1'),
    'etc/bind/named.conf.options': lines('options {', '  directory "/var/named";', `  forwarders { ${SITE.dragonPrivate}; };`, '};'),
    'etc/bind/named.conf.local': lines(`zone "${domain}" { type master; file "/var/named/db.${domain}"; };`),
    [`var/named/db.${domain}`]: lines(
      '$TTL 3600',
      `@\tIN SOA elephant.${domain}. hostmaster.${domain}. ( 1998051601 3600 900 604800 3600 )`,
      `@\tIN NS elephant.${domain}.`,
      `@\tIN MX 10 elephant.${domain}.`,
      `dragon\tIN A ${SITE.dragonPublic}`,
      `dragon-int\tIN A ${SITE.dragonPrivate}`,
      `elephant\tIN A ${SITE.elephant}`,
      `dolphin\tIN A ${SITE.dolphin}`,
    ),
    'etc/mail/sendmail.mc': lines(`define(\`SMART_HOST', \`dragon.${domain}')dnl`, "FEATURE(`use_cw_file')dnl"),
    'var/spool/mail/dale': lines('From dale@wigitek.example  Fri May 15 20:02:11 1998', 'Subject: upgrade tonight', '', 'Lunch is at noon, Taipei time.'),
  };
}

export interface SeededSandboxes {
  roots: Record<HostName, string>;
  /**
   * Settles when dolphin's restore tarballs are packed. Thousands of small files take a
   * second or two to create on some disks, so they are built while the lab already runs.
   */
  tarballs: Promise<void>;
}

/** Seeds <hostsDir>/<name>/ for the three hosts; workDir is scratch space for the tarballs' trees. */
export async function seedSandboxes(hostsDir: string, workDir: string, scenario: DemoScenario): Promise<SeededSandboxes> {
  const roots: Record<HostName, string> = {
    dragon: path.join(hostsDir, 'dragon'),
    dolphin: path.join(hostsDir, 'dolphin'),
    elephant: path.join(hostsDir, 'elephant'),
  };
  const plan = planDisk();
  await Promise.all([writeFileTree(roots.dragon, dragon()), writeFileTree(roots.dolphin, dolphin(plan, scenario)), writeFileTree(roots.elephant, elephant())]);
  await createDiskImage(path.join(roots.dolphin, DISK_IMAGE), DISK_IMAGE_BYTES, plan);
  const tarballs = buildRestoreTarballs(path.join(roots.dolphin, 'restore'), workDir);
  tarballs.catch(() => {}); // awaited later, by the commands and by close()
  return { roots, tarballs };
}
