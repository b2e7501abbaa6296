import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { OneShotBoot } from '../runbook/types.js';
import { armScript, entryIdOf, inspectScript, makeDefaultScript, menuEntry, readInspection, type Inspection } from './one-shot-scripts.js';

const into: OneShotBoot = { root: '/dev/vdb1', kernel: '/vmlinuz', initrd: '/initrd.img', panicSeconds: 10 };

const healthy = [
  'env=yes',
  'mount=/dev/vda1 ext4',
  'grub_reboot=yes',
  'custom_cfg=yes',
  'running=aaaa',
  'grub_fs=aaaa',
  'grub_mount=/',
  'uuid=bbbb',
  'device=/dev/vdb1',
  'kernel=yes',
  'initrd=yes',
  'init=yes',
  'running_args=console=ttyS0,115200 net.ifnames=0',
].join('\n');

const inspect = (stdout: string) => readInspection(`${stdout}\nend=ok\n`, into);

describe('one-shot boot: what the host said', () => {
  it('reads a host that can boot the new root once', () => {
    expect(inspect(healthy)).toEqual({
      uuid: 'bbbb',
      device: '/dev/vdb1',
      runningRootUuid: 'aaaa',
      grubFsUuid: 'aaaa',
      grubDirInFs: 'boot/grub',
      runningArgs: 'console=ttyS0,115200 net.ifnames=0',
    });
    expect(inspect(healthy.replace('grub_mount=/', 'grub_mount=/boot')).grubDirInFs).toBe('grub');
  });

  it.each([
    ['mount=/dev/mapper/vg-root ext4', /device-mapper/],
    ['grub_reboot=no', /grub-reboot is not installed/],
    ['custom_cfg=no', /does not read custom\.cfg/],
    ['uuid=', /holds no filesystem/],
    ['uuid=aaaa', /the root the host runs on now/],
    ['kernel=no', /no kernel at \/vmlinuz/],
    ['init=no', /no \/sbin\/init: it would panic/],
  ])('refuses when %s', (line, message) => {
    const key = line.slice(0, line.indexOf('='));
    const stdout = healthy
      .split('\n')
      .map((existing) => (existing.startsWith(`${key}=`) ? line : existing))
      .join('\n');
    expect(() => inspect(stdout)).toThrow(message);
  });

  it('counts nothing from an inspection that did not run to its end', () => {
    expect(() => readInspection('', into)).toThrow('The inspection of the host did not run to its end (its end mark is missing), so nothing it found counts.');
    expect(() => readInspection(healthy, into)).toThrow(/did not run to its end/);
  });

  it('prints its end mark after an early way out, and only when it ended well', () => {
    const script = inspectScript({ ...into, root: '/nonexistent-device' });
    expect(execFileSync('sh', ['-c', script], { encoding: 'utf8' })).toMatch(/\nuuid=\nend=ok\n$/);
  });
});

describe('one-shot boot: what goes to the host', () => {
  const inspection: Inspection = inspect(healthy);
  const entry = entryIdOf('first-boot-2');

  it('boots the new root by UUID with panic= and the running kernel arguments', () => {
    const text = menuEntry(entry, into, inspection);
    expect(text).toContain("menuentry 'nightshift-first-boot-2' --id 'nightshift-first-boot-2' {");
    expect(text).toContain('search --no-floppy --fs-uuid --set=root bbbb');
    expect(text).toContain('linux /vmlinuz root=UUID=bbbb ro console=ttyS0,115200 net.ifnames=0 panic=10');
    expect(menuEntry(entry, { ...into, args: 'quiet' }, inspection)).toContain('root=UUID=bbbb ro quiet panic=10');
  });

  it('scripts that the shell parses', () => {
    for (const script of [armScript(entry, menuEntry(entry, into, inspection)), makeDefaultScript(entry, inspection)]) {
      expect(() => execFileSync('sh', ['-n', '-c', script])).not.toThrow();
    }
  });

  it('replaces its own block in custom.cfg when run again, and leaves the rest', () => {
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    const custom = `${dir}/custom.cfg`;
    execFileSync('sh', ['-c', `printf 'menuentry other {\\n}\\n' > ${custom}`]);
    // The script as the host runs it, with its paths pointed at the folder and GRUB's tools left out.
    const local = (script: string) =>
      script
        .replace('custom=/boot/grub/custom.cfg', `custom=${custom}`)
        .replace(/^grub-reboot.*$/m, '')
        .replace(/^grub-editenv.*$/m, '');
    execFileSync('sh', ['-c', local(armScript(entry, menuEntry(entry, into, inspection)))]);
    execFileSync('sh', ['-c', local(armScript(entry, menuEntry(entry, { ...into, panicSeconds: 5 }, inspection)))]);
    const text = execFileSync('cat', [custom]).toString();
    expect(text.match(/menuentry 'nightshift-first-boot-2'/g)).toHaveLength(1);
    expect(text).toContain('panic=5');
    expect(text).toContain('menuentry other {');
  });
});
