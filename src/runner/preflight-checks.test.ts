// The preflight judges on what the scripts print, and the GRUB default entry parser.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  checkScript,
  grubDefaultRoot,
  judgeAddressFree,
  judgeCheck,
  judgeDisk,
  judgeFstab,
  judgeGrubenv,
  judgeMemAvailable,
  withEndMark,
} from './preflight-checks.js';

const blkid = 'DEVNAME=/dev/vda1\nUUID=1111-aaaa\nTYPE=ext4\nPARTUUID=p-1\n\nDEVNAME=/dev/vda2\nLABEL=data\nUUID=2222\n';

describe('preflight judges', () => {
  it('fstab: every UUID, PARTUUID and LABEL and the boot roots must exist, and the missing are named', () => {
    const fstab = '# comment UUID=nope\nUUID=1111-aaaa / ext4 defaults 0 1\nLABEL=data /srv ext4 defaults 0 2\nproc /proc proc defaults 0 0\n';
    const ok = judgeFstab('/etc/fstab', `== fstab\n${fstab}== blkid\n${blkid}== cmdline\nro root=PARTUUID=p-1 quiet\n== grub\n`);
    expect(ok).toEqual({ ok: true, text: '3 filesystems named, all found' });
    const bad = judgeFstab('/etc/fstab', `== fstab\nUUID="9999" / ext4 defaults 0 1\n== blkid\n${blkid}== cmdline\nroot=UUID=8888\n== grub\n`);
    expect(bad).toEqual({ ok: false, text: 'no filesystem here has UUID=9999 (in /etc/fstab), root=UUID=8888 (of the running kernel)' });
    expect(judgeFstab('/x', '== fstab\n#unreadable\n== blkid\n')).toEqual({ ok: false, text: '/x cannot be read' });
  });

  it("fstab: GRUB's default entry is read by number, submenus counted as one", () => {
    const config = [
      'set default="1"',
      "menuentry 'Debian' {",
      '  linux /vmlinuz root=UUID=1111-aaaa ro',
      '}',
      "submenu 'Advanced' {",
      "  menuentry 'old' {",
      '    linux /vmlinuz.old root=UUID=0000',
      '  }',
      '}',
    ].join('\n');
    expect(grubDefaultRoot(config)).toBeUndefined();
    expect(grubDefaultRoot(config.replace('default="1"', 'default="0"'))).toBe('UUID=1111-aaaa');
    const judged = judgeFstab(
      '/etc/fstab',
      `== fstab\n== blkid\n${blkid}== cmdline\nquiet\n== grub\n${config.replace('1111-aaaa', '7777').replace('default="1"', 'default=0')}`,
    );
    expect(judged).toEqual({ ok: false, text: "no filesystem here has root=UUID=7777 (of GRUB's default entry)" });
  });

  it('mem_available compares kB with the size asked for', () => {
    expect(judgeMemAvailable(256 * 1024 ** 2, '256M', 'MemAvailable:    1048576 kB\n')).toEqual({ ok: true, text: '1.0G available, at least 256M needed' });
    expect(judgeMemAvailable(2 * 1024 ** 3, '2G', 'MemAvailable:    1048576 kB\n')).toEqual({ ok: false, text: 'only 1.0G available, 2G needed' });
  });

  it('disk: serial or ptuuid must match; an empty disk has no ptuuid', () => {
    const disk = { kind: 'disk' as const, device: '/dev/vdb' };
    expect(judgeDisk({ ...disk, serial: 'ABC' }, 'serial=ABC\nptuuid=\ndiskid=\n').ok).toBe(true);
    expect(judgeDisk({ ...disk, serial: 'ABC' }, 'serial=XYZ\n')).toEqual({ ok: false, text: '/dev/vdb has serial XYZ, not ABC: another disk' });
    expect(judgeDisk({ ...disk, ptuuid: '0A1B2C3D' }, 'serial=\nptuuid=0a1b2c3d\ndiskid=0x0a1b2c3d\n').ok).toBe(true);
    expect(judgeDisk({ ...disk, ptuuid: 'x' }, 'serial=\nptuuid=\ndiskid=\n')).toEqual({
      ok: false,
      text: '/dev/vdb has no partition table, so no ptuuid; identify it by serial instead',
    });
    expect(judgeDisk({ ...disk, ptuuid: 'x' }, 'missing=yes\n')).toEqual({ ok: false, text: '/dev/vdb does not exist' });
  });

  it('address_free: arping -D exit 0 is free, 1 is taken; the fallback says it is one', () => {
    expect(judgeAddressFree('10.0.0.1', 'eth1', 'how=arping\narping=0\n').ok).toBe(true);
    expect(judgeAddressFree('10.0.0.1', 'eth1', 'how=arping\narping=1\n')).toEqual({
      ok: false,
      text: '10.0.0.1 is in use on eth1: a machine answered arping -D',
    });
    expect(judgeAddressFree('10.0.0.1', 'eth1', 'how=ping\nping=1\nneigh=10.0.0.1 lladdr 52:54:00:12:34:56 STALE\n').text).toMatch(
      /neighbour table has it .*arping is missing/,
    );
    expect(judgeAddressFree('10.0.0.1', 'eth1', 'how=ping\nping=1\nneigh=10.0.0.1 FAILED\n').ok).toBe(true);
    expect(judgeAddressFree('10.0.0.1', 'eth1', 'how=ping\nping=127\nneigh=\n').text).toMatch(/^neither arping nor ping is installed/);
    expect(judgeAddressFree('10.0.0.1', 'eth9', 'nolink=yes\n')).toEqual({ ok: false, text: 'there is no interface eth9' });
  });

  it('a script that did not print its end mark is a failed check, whatever else it printed', () => {
    const fstab = { kind: 'fstab' as const, path: '/etc/fstab' };
    expect(judgeCheck(fstab, '')).toEqual({
      ok: false,
      text: 'its script did not run to its end on the host (it printed nothing), so nothing it printed counts',
    });
    expect(judgeCheck(fstab, '== fstab\n== blkid\n')).toEqual({
      ok: false,
      text: 'its script did not run to its end on the host (its end mark is missing), so nothing it printed counts',
    });
    expect(judgeCheck(fstab, `== fstab\n== blkid\n${blkid}== cmdline\nroot=UUID=2222\nend=ok\n`)).toEqual({ ok: true, text: '1 filesystem named, all found' });
  });

  it('every check script prints its end mark after an early way out, and not after a failure', () => {
    expect(execFileSync('sh', ['-c', checkScript({ kind: 'disk', device: '/nonexistent-disk', ptuuid: 'x' })], { encoding: 'utf8' })).toBe(
      'missing=yes\nend=ok\n',
    );
    expect(() => execFileSync('sh', ['-c', withEndMark('echo half-way; exit 3')], { encoding: 'utf8', stdio: 'pipe' })).toThrow();
    expect(spawnSync('sh', ['-c', withEndMark('echo half-way; exit 3')], { encoding: 'utf8' }).stdout).toBe('half-way\n');
  });

  it('grubenv: a plain partition passes; LVM, RAID, ZFS and Btrfs do not', () => {
    expect(judgeGrubenv('env=yes\nmount=/dev/vda1 ext4\n').ok).toBe(true);
    expect(judgeGrubenv('env=yes\nmount=/dev/mapper/vg-root ext4\n').text).toMatch(/device-mapper/);
    expect(judgeGrubenv('env=yes\nmount=/dev/md0 ext4\n').text).toMatch(/software RAID/);
    expect(judgeGrubenv('env=yes\nmount=rpool/ROOT zfs\n').text).toMatch(/zfs, which GRUB does not write to/);
    expect(judgeGrubenv('env=no\nmount=/dev/vda1 ext4\n').text).toMatch(/does not exist/);
  });
});
