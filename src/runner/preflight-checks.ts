// The checks of a preflight step: for each, a read-only POSIX sh script that gathers facts
// on the host, and a judge that reads what it printed. Pure: no SSH here, so the judges are
// tested on text and the scripts through a real shell. Fail closed: a script's output counts
// only when it ends with the end mark, so a script that never ran or stopped half-way (and
// printed nothing, or too little) is a failed check, never "nothing to check".
import { shellQuote } from '../runbook/shell-quote.js';
import type { PreflightCheck } from '../runbook/types.js';
import { counted } from '../text/counted.js';

export interface Verdict {
  ok: boolean;
  /** Why, in a sentence: what was found. */
  text: string;
}

const END_MARK = 'end=ok';

/** `script` in a subshell, then the end mark once it ended well (an early `exit 0` included). */
export function withEndMark(script: string): string {
  return `(\n${script}\n) && echo ${END_MARK}`;
}

/** What the script printed before its end mark; null when the mark is not its last line. */
export function beforeEndMark(stdout: string): string | null {
  const trimmed = stdout.replace(/\n+$/, '');
  if (trimmed !== END_MARK && !trimmed.endsWith(`\n${END_MARK}`)) return null;
  return trimmed.slice(0, trimmed.length - END_MARK.length);
}

export function checkScript(check: PreflightCheck): string {
  return withEndMark(checkBody(check));
}

function checkBody(check: PreflightCheck): string {
  switch (check.kind) {
    case 'fstab':
      return fstabScript(check.path);
    case 'mem_available':
      return "grep '^MemAvailable:' /proc/meminfo";
    case 'disk':
      return diskScript(check.device);
    case 'address_free':
      return addressFreeScript(check.address, check.interface);
    case 'grubenv':
      return GRUBENV_SCRIPT;
  }
}

export function judgeCheck(check: PreflightCheck, printed: string): Verdict {
  const stdout = beforeEndMark(printed);
  if (stdout === null) {
    return {
      ok: false,
      text: `its script did not run to its end on the host (${printed.trim() === '' ? 'it printed nothing' : 'its end mark is missing'}), so nothing it printed counts`,
    };
  }
  switch (check.kind) {
    case 'fstab':
      return judgeFstab(check.path, stdout);
    case 'mem_available':
      return judgeMemAvailable(check.bytes, check.size, stdout);
    case 'disk':
      return judgeDisk(check, stdout);
    case 'address_free':
      return judgeAddressFree(check.address, check.interface, stdout);
    case 'grubenv':
      return judgeGrubenv(stdout);
  }
}

/** Lines after `== name` up to the next section. */
function sections(stdout: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^== (\S+)$/.exec(line);
    if (head) found.set(head[1]!, (current = []));
    else current?.push(line);
  }
  return found;
}

/** key=value lines, as the scripts run on hosts print them. */
export function readValues(stdout: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) map.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return map;
}

// --- fstab -------------------------------------------------------------------------------

export function fstabScript(path: string): string {
  return [
    `f=${shellQuote(path)}`,
    'echo "== fstab"; if [ -r "$f" ]; then cat "$f"; else echo "#unreadable"; fi',
    'echo "== blkid"; blkid -o export 2>/dev/null',
    'echo "== cmdline"; cat /proc/cmdline',
    'echo "== grub"; [ -r /boot/grub/grub.cfg ] && cat /boot/grub/grub.cfg',
    'true',
  ].join('\n');
}

type FsRef = { tag: 'UUID' | 'PARTUUID' | 'LABEL'; value: string } | { tag: 'DEVNAME'; value: string };

function refOf(spec: string): FsRef | undefined {
  const match = /^(UUID|PARTUUID|LABEL)=("?)(.+)\2$/.exec(spec);
  if (match) return { tag: match[1] as 'UUID' | 'PARTUUID' | 'LABEL', value: match[3]! };
  if (spec.startsWith('/dev/')) return { tag: 'DEVNAME', value: spec };
  return undefined;
}

/** The root= of GRUB's default entry: `set default` as a number (else the first entry). */
export function grubDefaultRoot(config: string): string | undefined {
  const defaultIndex = /^\s*set\s+default="?(\d+)"?\s*$/m.exec(config);
  const index = defaultIndex ? Number(defaultIndex[1]) : 0;
  // Top-level entries only: a submenu's entries are not counted by a plain number.
  const entries: string[] = [];
  let depth = 0;
  let current: string[] | undefined;
  for (const line of config.split('\n')) {
    const trimmed = line.trim();
    if (/^(menuentry|submenu)\b/.test(trimmed)) {
      if (depth === 0) entries.push('');
      if (depth === 0 && trimmed.startsWith('menuentry')) current = [];
      depth++;
      continue;
    }
    if (trimmed.startsWith('}')) {
      depth = Math.max(0, depth - 1);
      if (depth === 0 && current) {
        entries[entries.length - 1] = current.join('\n');
        current = undefined;
      }
      continue;
    }
    current?.push(trimmed);
  }
  const entry = entries[index];
  return entry === undefined ? undefined : /^linux(?:efi)?\s.*\broot=(\S+)/m.exec(entry)?.[1];
}

export function judgeFstab(path: string, stdout: string): Verdict {
  const parts = sections(stdout);
  const fstab = parts.get('fstab') ?? [];
  if (fstab[0] === '#unreadable') return { ok: false, text: `${path} cannot be read` };
  const known = new Set<string>();
  for (const line of parts.get('blkid') ?? []) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1);
    if (key === 'UUID' || key === 'PARTUUID' || key === 'LABEL' || key === 'DEVNAME') known.add(`${key}=${value}`);
  }
  const exists = (ref: FsRef) => known.has(`${ref.tag}=${ref.value}`);
  const missing: string[] = [];
  let checked = 0;
  for (const line of fstab) {
    const spec = line.replace(/#.*/, '').trim().split(/\s+/)[0];
    const ref = spec ? refOf(spec) : undefined;
    if (!ref || ref.tag === 'DEVNAME') continue;
    checked++;
    if (!exists(ref)) missing.push(`${ref.tag}=${ref.value} (in ${path})`);
  }
  const notes: string[] = [];
  const cmdline = (parts.get('cmdline') ?? []).join(' ');
  const roots: Array<[string, string | undefined]> = [
    ['the running kernel', /(?:^|\s)root=(\S+)/.exec(cmdline)?.[1]],
    ["GRUB's default entry", grubDefaultRoot((parts.get('grub') ?? []).join('\n'))],
  ];
  for (const [where, root] of roots) {
    if (root === undefined) continue;
    const ref = refOf(root);
    if (!ref) {
      notes.push(`${where} has root=${root}, which is not checked`);
      continue;
    }
    checked++;
    if (!exists(ref)) missing.push(`root=${root} (of ${where})`);
  }
  if (roots[0]![1] === undefined) notes.push('the running kernel has no root=');
  if (missing.length > 0) return { ok: false, text: `no filesystem here has ${missing.join(', ')}` };
  return { ok: true, text: [`${counted(checked, 'filesystem')} named, all found`, ...notes].join('; ') };
}

// --- mem_available -------------------------------------------------------------------------

export function judgeMemAvailable(bytes: number, size: string, stdout: string): Verdict {
  const match = /^MemAvailable:\s+(\d+)\s*kB/m.exec(stdout);
  if (!match) return { ok: false, text: '/proc/meminfo has no MemAvailable (a kernel older than 3.14?)' };
  const available = Number(match[1]) * 1024;
  const shown = humanSize(available);
  return available >= bytes
    ? { ok: true, text: `${shown} available, at least ${size} needed` }
    : { ok: false, text: `only ${shown} available, ${size} needed` };
}

function humanSize(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)}G`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)}M`;
  return `${Math.round(bytes / 1024)}K`;
}

// --- disk ----------------------------------------------------------------------------------

export function diskScript(device: string): string {
  return [
    `d=${shellQuote(device)}`,
    '[ -e "$d" ] || { echo missing=yes; exit 0; }',
    'echo "serial=$(lsblk -dno SERIAL "$d" 2>/dev/null | head -n1)"',
    'n=$(basename "$(readlink -f "$d")")',
    '[ -r "/sys/block/$n/serial" ] && echo "sysserial=$(cat "/sys/block/$n/serial")"',
    'command -v udevadm >/dev/null 2>&1 && udevadm info --query=property --name="$d" 2>/dev/null | grep -E "^ID_SERIAL(_SHORT)?="',
    'echo "ptuuid=$(blkid -po value -s PTUUID "$d" 2>/dev/null)"',
    'echo "diskid=$(sfdisk --disk-id "$d" 2>/dev/null)"',
    'true',
  ].join('\n');
}

/** 0xABCD1234 and abcd1234 are the same id; GPT ids are compared without case. */
function normalizeId(id: string): string {
  return id.trim().toLowerCase().replace(/^0x/, '');
}

export function judgeDisk(check: Extract<PreflightCheck, { kind: 'disk' }>, stdout: string): Verdict {
  const found = readValues(stdout);
  if (found.get('missing') === 'yes') return { ok: false, text: `${check.device} does not exist` };
  if (check.serial !== undefined) {
    const serials = ['serial', 'sysserial', 'ID_SERIAL_SHORT', 'ID_SERIAL'].map((key) => found.get(key) ?? '').filter(Boolean);
    if (serials.length === 0) return { ok: false, text: `${check.device} reports no serial number; identify it by ptuuid instead` };
    return serials.includes(check.serial)
      ? { ok: true, text: `${check.device} has serial ${check.serial}` }
      : { ok: false, text: `${check.device} has serial ${serials[0]}, not ${check.serial}: another disk` };
  }
  const ids = [found.get('ptuuid') ?? '', found.get('diskid') ?? ''].filter(Boolean);
  if (ids.length === 0) return { ok: false, text: `${check.device} has no partition table, so no ptuuid; identify it by serial instead` };
  return ids.some((id) => normalizeId(id) === normalizeId(check.ptuuid ?? ''))
    ? { ok: true, text: `${check.device} has partition table id ${ids[0]}` }
    : { ok: false, text: `${check.device} has partition table id ${ids[0]}, not ${check.ptuuid}: another disk` };
}

// --- address_free --------------------------------------------------------------------------

export function addressFreeScript(address: string, iface: string): string {
  const a = shellQuote(address);
  const i = shellQuote(iface);
  return [
    `ip link show dev ${i} >/dev/null 2>&1 || { echo nolink=yes; exit 0; }`,
    'if command -v arping >/dev/null 2>&1; then',
    '  echo how=arping',
    `  arping -D -q -c 2 -w 3 -I ${i} ${a} >/dev/null 2>&1; echo "arping=$?"`,
    'else',
    '  echo how=ping',
    `  ping -c1 -W1 -I ${i} ${a} >/dev/null 2>&1; echo "ping=$?"`,
    `  echo "neigh=$(ip neigh show to ${a} dev ${i} 2>/dev/null | head -n1)"`,
    'fi',
  ].join('\n');
}

export function judgeAddressFree(address: string, iface: string, stdout: string): Verdict {
  const found = readValues(stdout);
  if (found.get('nolink') === 'yes') return { ok: false, text: `there is no interface ${iface}` };
  if (found.get('how') === 'arping') {
    const code = found.get('arping');
    if (code === '0') return { ok: true, text: `nobody answered arping -D for ${address} on ${iface}` };
    if (code === '1') return { ok: false, text: `${address} is in use on ${iface}: a machine answered arping -D` };
    return { ok: false, text: `arping on ${iface} could not run (exit ${code ?? '?'})` };
  }
  const how = 'arping is missing, so ping and ip neigh were used';
  if (found.get('ping') === '127') {
    return { ok: false, text: `neither arping nor ping is installed, so ${address} cannot be checked (install iputils-arping)` };
  }
  if (found.get('ping') === '0') return { ok: false, text: `${address} is in use on ${iface}: it answers ping (${how})` };
  const neigh = found.get('neigh') ?? '';
  if (/\blladdr\b/.test(neigh) && !/\b(FAILED|INCOMPLETE)\b/.test(neigh)) {
    return { ok: false, text: `${address} is in use on ${iface}: the neighbour table has it (${neigh}) (${how})` };
  }
  return { ok: true, text: `nobody answered ping for ${address} on ${iface} and no neighbour has it (${how}: a firewalled machine would not show)` };
}

// --- grubenv -------------------------------------------------------------------------------

/**
 * Whether GRUB can write its environment block (what grub-reboot needs): grubenv exists and
 * the filesystem holding /boot/grub sits on a plain partition, since GRUB writes the block
 * in place and refuses on LVM, RAID, ZFS and Btrfs. Shared with the reboot step.
 */
export const GRUBENV_SCRIPT = [
  'if [ -e /boot/grub/grubenv ]; then echo env=yes; else echo env=no; fi',
  'm=$(findmnt -no SOURCE,FSTYPE -T /boot/grub 2>/dev/null | head -n1)',
  'echo "mount=$m"',
].join('\n');

export function judgeGrubenv(stdout: string): Verdict {
  const found = readValues(stdout);
  if (found.get('env') !== 'yes') return { ok: false, text: '/boot/grub/grubenv does not exist (grub-editenv /boot/grub/grubenv create makes one)' };
  const [source = '', fstype = ''] = (found.get('mount') ?? '').split(/\s+/);
  if (source === '') return { ok: false, text: 'findmnt could not tell which filesystem holds /boot/grub' };
  const why =
    source.startsWith('/dev/mapper/') || source.startsWith('/dev/dm-')
      ? 'a device-mapper device (LVM or encrypted)'
      : /^\/dev\/md/.test(source)
        ? 'a software RAID'
        : fstype === 'zfs' || fstype === 'btrfs'
          ? `${fstype}, which GRUB does not write to`
          : undefined;
  return why
    ? { ok: false, text: `/boot/grub is on ${source} (${fstype}): ${why}; GRUB cannot write grubenv there` }
    : { ok: true, text: `/boot/grub/grubenv is on ${source} (${fstype}), a plain partition` };
}
