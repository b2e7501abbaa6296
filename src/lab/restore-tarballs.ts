// The tarballs dolphin restores: a copy of the Massachusetts gateway's root, /usr and /var,
// generated as a few thousand small files and packed with the system tar, so that
// `tar -xvzf` streams a visible flood of lines.
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { lines, writeFileTree, type FileTree } from './file-tree.js';
import { runTool } from './run-tool.js';

const KERNEL = '2.0.36';

const PACKAGES = [
  'base-files',
  'bash',
  'bind',
  'bsdutils',
  'cron',
  'debianutils',
  'diff',
  'dpkg',
  'e2fsprogs',
  'fileutils',
  'findutils',
  'gawk',
  'grep',
  'gzip',
  'hostname',
  'ldso',
  'libc5',
  'libc6',
  'login',
  'makedev',
  'mawk',
  'modutils',
  'ncurses-base',
  'netbase',
  'netstd',
  'passwd',
  'perl-base',
  'procps',
  'sed',
  'shellutils',
  'sysklogd',
  'sysvinit',
  'tar',
  'textutils',
  'util-linux',
  'apache',
  'fwtk',
  'sendmail',
  'ppp',
  'ssh',
  'lynx',
  'man-db',
  'less',
  'elvis',
  'telnet',
  'ftp',
  'inn',
  'squid',
  'tcpd',
  'portmap',
  'samba',
  'lpr',
  'at',
  'bc',
  'file',
  'info',
  'strace',
  'ipfwadm',
  'dhcpcd',
  'ncftp',
];

function rootTree(): FileTree {
  const tree: FileTree = {
    'etc/hostname': lines('minuteman'),
    'etc/debian_version': lines('2.0'),
    'etc/motd': lines('Linux minuteman 2.0.36 #1 Debian GNU/Linux', 'Restored from the Massachusetts gateway.'),
    'etc/hosts': lines('127.0.0.1\tlocalhost', '198.51.100.10\tminuteman.example.org minuteman'),
    'etc/network/interfaces': lines(
      'auto lo',
      'iface lo inet loopback',
      '',
      'auto eth0',
      'iface eth0 inet static',
      '    address 198.51.100.10',
      '    netmask 255.255.255.0',
    ),
    'etc/network/routes': lines('default via 198.51.100.1 dev eth0'),
    'etc/resolv.conf': lines('search example.org', 'nameserver 198.51.100.2'),
    'etc/fstab': lines('# filled in by the boot loader phase'),
    'etc/passwd': lines(
      'root:x:0:0:root:/root:/bin/bash',
      'daemon:x:1:1:daemon:/usr/sbin:/bin/sh',
      'bind:x:100:100::/var/cache/bind:/bin/false',
      'mail:x:8:8:mail:/var/spool/mail:/bin/sh',
    ),
    'etc/group': lines('root:x:0:', 'daemon:x:1:', 'mail:x:8:', 'bind:x:100:'),
    'etc/shells': lines('/bin/sh', '/bin/bash'),
    'etc/inittab': lines('id:2:initdefault:', 'si::sysinit:/etc/init.d/rcS', '1:2345:respawn:/sbin/getty 38400 tty1'),
    'etc/init.d/network': lines(
      '#!/bin/sh',
      '# Brings up the interfaces and the routes in /etc/network/routes.',
      'ifup -a',
      'while read -r route; do ip route replace $route; done < /etc/network/routes',
    ),
    'boot/vmlinuz-2.0.36': lines(`Linux kernel image ${KERNEL} (placeholder)`),
    'boot/System.map-2.0.36': lines('00100000 T _text'),
    'root/.profile': lines('PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'export PATH'),
    'home/': '',
    'tmp/': '',
    'mnt/': '',
    'proc/': '',
  };
  for (const script of ['rcS', 'bind', 'sendmail', 'cron', 'sysklogd', 'inetd', 'ppp', 'squid', 'apache', 'fwtk']) {
    tree[`etc/init.d/${script}`] = lines('#!/bin/sh', `# start and stop ${script}`, 'exit 0');
    for (const level of ['2', '3', '4', '5']) tree[`etc/rc${level}.d/S20${script}`] = lines(`../init.d/${script}`);
  }
  for (const pkg of PACKAGES.slice(0, 40)) tree[`etc/${pkg}.conf`] = lines(`# ${pkg} configuration`);
  const commands = [
    'cat',
    'chmod',
    'chown',
    'cp',
    'date',
    'dd',
    'df',
    'echo',
    'false',
    'hostname',
    'kill',
    'ln',
    'login',
    'ls',
    'mkdir',
    'mknod',
    'more',
    'mount',
    'mv',
    'ping',
    'ps',
    'pwd',
    'rm',
    'rmdir',
    'sed',
    'sh',
    'bash',
    'sleep',
    'stty',
    'su',
    'sync',
    'tar',
    'gzip',
    'true',
    'umount',
    'uname',
  ];
  for (const command of commands) tree[`bin/${command}`] = lines('#!/bin/sh', `# ${command} from the Massachusetts gateway`);
  const admin = [
    'fdisk',
    'mke2fs',
    'e2fsck',
    'lilo',
    'rdev',
    'ifconfig',
    'route',
    'ipfwadm',
    'getty',
    'init',
    'halt',
    'reboot',
    'shutdown',
    'swapon',
    'swapoff',
    'modprobe',
    'insmod',
    'rmmod',
    'depmod',
    'ldconfig',
    'killall5',
    'syslogd',
    'klogd',
    'runlevel',
    'sulogin',
    'update',
    'badblocks',
    'tune2fs',
    'debugfs',
    'mkswap',
  ];
  for (const command of admin) tree[`sbin/${command}`] = lines('#!/bin/sh', `# ${command}`);
  for (const group of ['net', 'fs', 'block', 'scsi', 'misc', 'cdrom']) {
    for (let i = 1; i <= 25; i++) tree[`lib/modules/${KERNEL}/${group}/${group}${i}.o`] = lines(`module ${group}${i}`);
  }
  for (let i = 1; i <= 40; i++) tree[`lib/lib${PACKAGES[i % PACKAGES.length]}.so.${i % 5}`] = lines(`shared library ${i}`);
  return tree;
}

function usrTree(): FileTree {
  const tree: FileTree = {};
  PACKAGES.forEach((pkg, p) => {
    tree[`share/doc/${pkg}/copyright`] = lines(`${pkg} is free software; see /usr/share/common-licenses.`);
    tree[`share/doc/${pkg}/changelog.Debian`] = lines(`${pkg} (1.${p}-1) frozen; urgency=low`, '', '  * New upstream release.');
    tree[`share/doc/${pkg}/README`] = lines(`About ${pkg}.`);
    for (let i = 1; i <= 6; i++) tree[`bin/${pkg}${i === 1 ? '' : `-${i}`}`] = lines('#!/bin/sh', `# ${pkg} tool ${i}`);
    for (let i = 1; i <= 12; i++) tree[`lib/${pkg}/module${i}.so`] = lines(`${pkg} module ${i}`);
    for (let i = 1; i <= 4; i++) tree[`man/man${1 + (i % 8)}/${pkg}${i}.${1 + (i % 8)}`] = lines(`.TH ${pkg.toUpperCase()} ${i}`);
    for (let i = 1; i <= 3; i++) tree[`include/${pkg}/${pkg}${i}.h`] = lines(`#define ${pkg.replace(/\W/g, '_').toUpperCase()}_${i} ${i}`);
    tree[`sbin/${pkg}d`] = lines('#!/bin/sh', `# ${pkg} daemon`);
  });
  for (let i = 1; i <= 120; i++) tree[`share/zoneinfo/Zone${i}`] = lines(`TZif zone ${i}`);
  return tree;
}

function varTree(): FileTree {
  const tree: FileTree = {
    'lib/dpkg/status': PACKAGES.map((pkg) => lines(`Package: ${pkg}`, 'Status: install ok installed', '')).join(''),
    'log/': '',
    'spool/mail/': '',
    'spool/news/': '',
    'cache/bind/': '',
    'run/': '',
  };
  for (const pkg of PACKAGES) {
    tree[`lib/dpkg/info/${pkg}.list`] = lines(`/usr/share/doc/${pkg}`, `/usr/bin/${pkg}`);
    tree[`lib/dpkg/info/${pkg}.md5sums`] = lines(`d41d8cd98f00b204e9800998ecf8427e  usr/bin/${pkg}`);
    tree[`lib/dpkg/info/${pkg}.postinst`] = lines('#!/bin/sh', 'exit 0');
  }
  for (const log of ['messages', 'syslog', 'daemon.log', 'mail.log', 'kern.log', 'auth.log', 'wtmp', 'lastlog']) {
    for (let rotation = 0; rotation < 4; rotation++) tree[`log/${log}${rotation === 0 ? '' : `.${rotation}`}`] = lines(`${log} ${rotation}`);
  }
  return tree;
}

export const TARBALLS = ['root', 'usr', 'var'] as const;

/** Builds root.tar.gz, usr.tar.gz, var.tar.gz and SHA256SUMS in restoreDir, using workDir on the way. */
export async function buildRestoreTarballs(restoreDir: string, workDir: string): Promise<void> {
  try {
    await packTrees(restoreDir, workDir);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  const sums = await Promise.all(
    TARBALLS.map(async (name) => {
      const digest = createHash('sha256')
        .update(await readFile(path.join(restoreDir, `${name}.tar.gz`)))
        .digest('hex');
      return `${digest}  ${name}.tar.gz\n`;
    }),
  );
  await writeFile(path.join(restoreDir, 'SHA256SUMS'), sums.join(''));
}

/** One tree at a time, each packed by tar while the next one is written. */
async function packTrees(restoreDir: string, workDir: string): Promise<void> {
  const trees: Record<(typeof TARBALLS)[number], () => FileTree> = { root: rootTree, usr: usrTree, var: varTree };
  const packing: Array<Promise<string>> = [];
  let writeError: unknown;
  try {
    for (const name of TARBALLS) {
      const tree = path.join(workDir, name);
      await writeFileTree(tree, trees[name]());
      packing.push(runTool('tar', ['-czf', path.join(restoreDir, `${name}.tar.gz`), '-C', tree, '.']));
    }
  } catch (error) {
    writeError = error;
  }
  const failed = (await Promise.allSettled(packing)).find((result) => result.status === 'rejected');
  if (writeError !== undefined) throw writeError;
  if (failed) throw failed.reason;
}
