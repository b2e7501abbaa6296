// The guest image every lab machine boots from, built once and cached: a Debian system from
// debootstrap, configured for the lab, written into a partitioned disk without loop devices
// (mkfs.ext4 -d at an offset), made bootable by a first boot that installs GRUB, and kept as
// a qcow2 that each machine overlays. The same system is packed as root/usr/var tarballs for
// the runbooks that restore a machine from tarballs.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { missingTools, type ToolPackage } from '../preflight.js';
import { guestFiles, IMAGE_ROOT_UUID, KERNEL_ARGS } from './guest-files.js';
import { LabError } from './lab-error.js';
import { imagePaths, type ImagePaths } from './paths.js';
import { bootOnce } from './qemu.js';
import { script, tool } from './shell.js';

export const DEBIAN_SUITE = 'bookworm';
const PACKAGES = [
  'openssh-server',
  'systemd-sysv',
  'linux-image-amd64',
  'grub-pc',
  'ifupdown',
  'iproute2',
  'zstd',
  'fdisk',
  'iputils-ping',
  'iputils-arping',
  'netcat-openbsd',
  'procps',
  'dnsmasq-base',
  'kmod',
  'udev',
  'bind9-dnsutils',
];
const ROOT_PARTITION_MIB = 2600;
const SWAP_PARTITION_MIB = 1400;

/** Debian packages the host needs to build and boot the lab, by the tool that shows each is there. */
export const HOST_TOOLS: ReadonlyArray<ToolPackage> = [
  { tool: 'debootstrap', debianPackage: 'debootstrap' },
  { tool: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' },
  { tool: 'qemu-img', debianPackage: 'qemu-utils' },
  { tool: 'mkfs.ext4', debianPackage: 'e2fsprogs' },
  { tool: 'sfdisk', debianPackage: 'fdisk' },
  { tool: 'zstd', debianPackage: 'zstd' },
  { tool: 'ssh-keygen', debianPackage: 'openssh-client' },
  { tool: 'ip', debianPackage: 'iproute2' },
];

export function checkHostTools(): void {
  const missing = missingTools(HOST_TOOLS);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((item) => item.debianPackage))].join(' ');
    throw new LabError(`The lab needs ${missing.map((item) => item.tool).join(', ')}: install them with apt-get install ${packages}.`);
  }
  if (process.getuid?.() !== 0) throw new LabError('The lab builds disk images and network bridges: run it as root.');
}

export interface BaseImage extends ImagePaths {
  /** True when this call built it (false: taken from the cache). */
  built: boolean;
}

/** The cached image, built first when missing. `say` gets one line per stage. */
export async function ensureBaseImage(say: (line: string) => void, paths = imagePaths()): Promise<BaseImage> {
  if (existsSync(paths.disk) && existsSync(path.join(paths.tarballs, 'SHA256SUMS'))) return { ...paths, built: false };
  checkHostTools();
  await mkdir(paths.dir, { recursive: true });
  const started = Date.now();
  const stage = (text: string) => say(`lab image: ${text} (${Math.round((Date.now() - started) / 1000)} s)`);
  await ensureLabKey(paths.key);
  if (!existsSync(path.join(paths.rootfs, 'vmlinuz'))) {
    stage(`debootstrap ${DEBIAN_SUITE} into ${paths.rootfs} (about 2 minutes)`);
    await debootstrap(paths.rootfs);
  }
  stage('configuring the guest system');
  await configure(paths);
  stage('packing root, /usr and /var tarballs');
  await packTarballs(paths);
  stage('writing the disk');
  const raw = path.join(paths.dir, 'system.raw');
  await writeDisk(paths.rootfs, raw);
  stage('first boot: installing GRUB (about a minute)');
  const serial = await bootOnce({
    disk: raw,
    format: 'raw',
    kernel: path.join(paths.rootfs, 'vmlinuz'),
    initrd: path.join(paths.rootfs, 'initrd.img'),
    append: `root=UUID=${IMAGE_ROOT_UUID} rw ${KERNEL_ARGS} init=/usr/local/sbin/nslab-firstboot`,
    log: paths.log,
    timeoutMs: 600_000,
  });
  if (!serial.includes('nslab-firstboot: ok')) {
    throw new LabError(`The image's first boot did not install GRUB; its console is in ${paths.log}.`);
  }
  await tool('qemu-img', ['convert', '-O', 'qcow2', raw, `${paths.disk}.partial`]);
  await rename(`${paths.disk}.partial`, paths.disk);
  await rm(raw, { force: true });
  stage(`ready: ${paths.disk}`);
  return { ...paths, built: true };
}

async function ensureLabKey(key: string): Promise<void> {
  if (existsSync(key)) return;
  await mkdir(path.dirname(key), { recursive: true });
  await tool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nightshift-lab', '-f', key]);
}

function aptMirror(): string {
  return process.env['NIGHTSHIFT_LAB_MIRROR'] ?? 'http://deb.debian.org/debian';
}

async function debootstrap(rootfs: string): Promise<void> {
  const partial = `${rootfs}.partial`;
  await rm(partial, { recursive: true, force: true });
  await tool('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, DEBIAN_SUITE, partial, aptMirror()]);
  await rename(partial, rootfs);
}

async function configure(paths: ImagePaths): Promise<void> {
  const publicKey = (await readFile(`${paths.key}.pub`, 'utf8')).trim();
  const privateKey = await readFile(paths.key, 'utf8');
  for (const [file, { text, mode }] of Object.entries(guestFiles(publicKey, privateKey))) {
    const target = path.join(paths.rootfs, file);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    await writeFile(target, text);
    await chmod(target, mode ?? 0o644);
  }
  await chmod(path.join(paths.rootfs, 'root/.ssh'), 0o700);
  // Downloaded packages would double the /var tarball.
  await script('rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/lib/apt/lists/*', {
    env: { ROOTFS: paths.rootfs },
  });
}

async function packTarballs(paths: ImagePaths): Promise<void> {
  await rm(paths.tarballs, { recursive: true, force: true });
  await mkdir(paths.tarballs, { recursive: true });
  // A restored system must not take a lab machine's identity from the seed disk: it carries
  // the seed's done-marker (the image itself does not).
  await script(
    `cd "$ROOTFS"
touch etc/nslab-seeded
trap 'rm -f "$ROOTFS/etc/nslab-seeded"' EXIT
tar --numeric-owner --one-file-system -b 2048 --exclude='./usr/*' --exclude='./var/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -cf - . | zstd -q -T0 -3 -o "$OUT/root.tar.zst"
tar --numeric-owner -b 2048 -C usr -cf - . | zstd -q -T0 -3 -o "$OUT/usr.tar.zst"
tar --numeric-owner -b 2048 -C var -cf - . | zstd -q -T0 -3 -o "$OUT/var.tar.zst"
cd "$OUT" && sha256sum root.tar.zst usr.tar.zst var.tar.zst > SHA256SUMS.partial && mv SHA256SUMS.partial SHA256SUMS`,
    { env: { ROOTFS: paths.rootfs, OUT: paths.tarballs } },
  );
}

async function writeDisk(rootfs: string, raw: string): Promise<void> {
  await rm(raw, { force: true });
  const totalMiB = 1 + ROOT_PARTITION_MIB + SWAP_PARTITION_MIB + 1;
  await tool('truncate', ['-s', `${totalMiB}M`, raw]);
  await tool('sfdisk', ['--quiet', raw], {
    input: `label: dos\n1MiB,${ROOT_PARTITION_MIB}MiB,83,*\n,${SWAP_PARTITION_MIB}MiB,82\n`,
  });
  await tool('mkfs.ext4', ['-q', '-F', '-L', 'labroot', '-U', IMAGE_ROOT_UUID, '-E', `offset=${1024 * 1024}`, '-d', rootfs, raw, `${ROOT_PARTITION_MIB}M`]);
}
