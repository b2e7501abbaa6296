// The shell side of booting a new root once: find it and check it can boot, add a GRUB entry
// for it to custom.cfg (read by Debian's 41_custom at every boot, no update-grub needed),
// grub-reboot into it, then, once the new root is verified, make that entry the default.
// Each script prints key=value lines that the functions here read; nothing is judged remotely.
import { shellQuote } from '../runbook/shell-quote.js';
import type { OneShotBoot } from '../runbook/types.js';
import { beforeEndMark, GRUBENV_SCRIPT, judgeGrubenv, readValues, withEndMark } from './preflight-checks.js';

export function entryIdOf(stepId: string): string {
  return `nightshift-${stepId}`;
}

/** Finds the new root and its kernel, the running root, where GRUB keeps its files; changes nothing. Ends with the end mark. */
export function inspectScript(into: OneShotBoot): string {
  return withEndMark(`ROOT=${shellQuote(into.root)}; KERNEL=${shellQuote(into.kernel)}; INITRD=${shellQuote(into.initrd)}
${GRUBENV_SCRIPT}
command -v grub-reboot >/dev/null 2>&1 && echo grub_reboot=yes || echo grub_reboot=no
grep -qs custom.cfg /boot/grub/grub.cfg && echo custom_cfg=yes || echo custom_cfg=no
echo running=$(findmnt -no UUID /)
echo grub_fs=$(findmnt -no UUID -T /boot/grub)
echo grub_mount=$(findmnt -no TARGET -T /boot/grub)
case "$ROOT" in UUID=*) uuid=\${ROOT#UUID=} ;; *) uuid=$(blkid -o value -s UUID "$ROOT" 2>/dev/null) ;; esac
echo uuid=$uuid
[ -n "$uuid" ] || exit 0
echo device=$(blkid -U "$uuid" 2>/dev/null)
mnt=$(findmnt -no TARGET -S UUID="$uuid" | head -n1); tmp=
if [ -z "$mnt" ]; then tmp=$(mktemp -d) && mount -o ro UUID="$uuid" "$tmp" && mnt=$tmp; fi
[ -e "$mnt$KERNEL" ] && echo kernel=yes || echo kernel=no
[ -e "$mnt$INITRD" ] && echo initrd=yes || echo initrd=no
[ -e "$mnt/sbin/init" ] && echo init=yes || echo init=no
if [ -n "$tmp" ]; then umount "$tmp"; rmdir "$tmp"; fi
args=
for word in $(cat /proc/cmdline); do
  case "$word" in BOOT_IMAGE=*|root=*|ro|rw|panic=*|init=*) ;; *) args="$args $word" ;; esac
done
echo running_args=\${args# }`);
}

export interface Inspection {
  uuid: string;
  device: string;
  runningRootUuid: string;
  grubFsUuid: string;
  /** /boot/grub's path inside the filesystem that holds it: boot/grub, or grub on a /boot of its own. */
  grubDirInFs: string;
  runningArgs: string;
}

export function readInspection(printed: string, into: OneShotBoot): Inspection {
  const stdout = beforeEndMark(printed);
  if (stdout === null) throw new Error('The inspection of the host did not run to its end (its end mark is missing), so nothing it found counts.');
  const values = readValues(stdout);
  const get = (key: string) => values.get(key) ?? '';
  const grubenv = judgeGrubenv(stdout);
  if (!grubenv.ok) throw new Error(`GRUB cannot keep a one-shot entry here: ${grubenv.text}.`);
  if (get('grub_reboot') !== 'yes') throw new Error('grub-reboot is not installed on the host (Debian: grub2-common).');
  if (get('custom_cfg') !== 'yes') throw new Error("/boot/grub/grub.cfg does not read custom.cfg (Debian's /etc/grub.d/41_custom does): run update-grub.");
  if (get('uuid') === '') throw new Error(`${into.root} holds no filesystem that blkid knows (no UUID): is it restored?`);
  if (get('uuid') === get('running')) throw new Error(`${into.root} is the root the host runs on now, not a new one.`);
  if (get('kernel') !== 'yes') throw new Error(`The new root has no kernel at ${into.kernel}.`);
  if (get('initrd') !== 'yes') throw new Error(`The new root has no initial ramdisk at ${into.initrd}.`);
  if (get('init') !== 'yes') throw new Error('The new root has no /sbin/init: it would panic at boot.');
  const mount = get('grub_mount');
  return {
    uuid: get('uuid'),
    device: get('device') || into.root,
    runningRootUuid: get('running'),
    grubFsUuid: get('grub_fs'),
    grubDirInFs: mount === '/' ? 'boot/grub' : path(mount, '/boot/grub'),
    runningArgs: get('running_args'),
  };
}

function path(mount: string, full: string): string {
  return full.startsWith(`${mount}/`) ? full.slice(mount.length + 1) : 'grub';
}

const BLOCK = (entry: string) => [`### ${entry} begin`, `### ${entry} end`] as const;

/** The menu entry, written into custom.cfg between markers (replaced when the step runs again). */
export function menuEntry(entry: string, into: OneShotBoot, inspection: Inspection): string {
  const args = into.args ?? inspection.runningArgs;
  return [
    `menuentry '${entry}' --id '${entry}' {`,
    '  insmod part_msdos',
    '  insmod part_gpt',
    '  insmod ext2',
    `  search --no-floppy --fs-uuid --set=root ${inspection.uuid}`,
    `  linux ${into.kernel} root=UUID=${inspection.uuid} ro ${args} panic=${into.panicSeconds}`.replace(/ +/g, ' '),
    `  initrd ${into.initrd}`,
    '}',
  ].join('\n');
}

export function armScript(entry: string, text: string): string {
  const [begin, end] = BLOCK(entry);
  return `set -e
custom=/boot/grub/custom.cfg
touch "$custom"
sed -i ${shellQuote(`/^${begin}$/,/^${end}$/d`)} "$custom"
printf '%s\\n' ${shellQuote(begin)} ${shellQuote(text)} ${shellQuote(end)} >> "$custom"
grub-reboot ${shellQuote(entry)}
grub-editenv list | grep -qx ${shellQuote(`next_entry=${entry}`)}
echo armed=yes`;
}

/** Reads where the running system came up from: its root filesystem's UUID and device. */
export const ROOT_SCRIPT = 'echo uuid=$(findmnt -no UUID /); echo device=$(findmnt -no SOURCE /)';

/**
 * Run on the new system: mounts the filesystem that holds GRUB's files (the old root's, usually)
 * and makes the entry the default, except on a boot chosen once by grub-reboot.
 */
export function makeDefaultScript(entry: string, inspection: Inspection): string {
  const [begin, end] = BLOCK('nightshift default');
  const line = `if [ -z "\${boot_once}" ]; then set default="${entry}"; fi`;
  return `set -e
fs=${shellQuote(inspection.grubFsUuid)}
mnt=$(findmnt -no TARGET -S UUID="$fs" | head -n1); tmp=
if [ -z "$mnt" ]; then tmp=$(mktemp -d); mount UUID="$fs" "$tmp"; mnt=$tmp; fi
custom="$mnt"/${shellQuote(inspection.grubDirInFs)}/custom.cfg
grep -q -e ${shellQuote(`--id '${entry}'`)} "$custom"
sed -i ${shellQuote(`/^${begin}$/,/^${end}$/d`)} "$custom"
printf '%s\\n' ${shellQuote(begin)} ${shellQuote(line)} ${shellQuote(end)} >> "$custom"
sync
if [ -n "$tmp" ]; then umount "$tmp"; rmdir "$tmp"; fi
echo default=yes`;
}
