// What the lab writes into the guest system before it becomes a disk image: a console on the
// serial port, a quick GRUB, a fixed address on QEMU's user network, root's lab key, and two
// small services: the seed (gives each machine its identity from a tiny disk, once) and a DNS
// answerer (dnsmasq serving /etc/hosts, so a gateway's name answers like the real one's).

/** Filesystem ids the image is built with; the runbooks' fstab checks see these. */
export const IMAGE_ROOT_UUID = '6e1a0a7e-0b5c-4d7e-9a51-5e7a1f000001';
export const IMAGE_SWAP_UUID = '6e1a0a7e-0b5c-4d7e-9a51-5e7a1f000002';

/** The serial of the seed disk, as udev names it under /dev/disk/by-id/virtio-SERIAL. */
export const SEED_SERIAL = 'nslab-seed';

export const KERNEL_ARGS = 'console=ttyS0,115200 net.ifnames=0';

export function guestFiles(labPublicKey: string, labPrivateKey: string): Record<string, { text: string; mode?: number }> {
  return {
    'etc/fstab': {
      text: `UUID=${IMAGE_ROOT_UUID} / ext4 errors=remount-ro 0 1\nUUID=${IMAGE_SWAP_UUID} none swap sw 0 0\n`,
    },
    'etc/hostname': { text: 'lab\n' },
    'etc/hosts': { text: '127.0.0.1 localhost\n127.0.1.1 lab\n' },
    'etc/network/interfaces': {
      text: [
        'source /etc/network/interfaces.d/*',
        'auto lo',
        'iface lo inet loopback',
        '# QEMU user networking: the management link, reached through a forward on the host',
        'auto eth0',
        'iface eth0 inet static',
        '  address 10.0.2.15/24',
        '  gateway 10.0.2.2',
        '',
      ].join('\n'),
    },
    'etc/default/grub': {
      text: [
        'GRUB_DEFAULT=0',
        'GRUB_TIMEOUT=1',
        'GRUB_DISTRIBUTOR=Debian',
        'GRUB_CMDLINE_LINUX_DEFAULT=""',
        `GRUB_CMDLINE_LINUX="${KERNEL_ARGS}"`,
        'GRUB_TERMINAL=serial',
        'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"',
        'GRUB_DISABLE_OS_PROBER=true',
        '',
      ].join('\n'),
    },
    'etc/ssh/sshd_config.d/lab.conf': { text: 'PermitRootLogin prohibit-password\nUseDNS no\n' },
    'root/.ssh/authorized_keys': { text: `${labPublicKey}\n`, mode: 0o600 },
    // Guests reach each other over the private network with the same key (scp of host keys).
    'root/.ssh/id_ed25519': { text: labPrivateKey, mode: 0o600 },
    'root/.ssh/config': { text: 'Host *\n  StrictHostKeyChecking accept-new\n  UserKnownHostsFile /root/.ssh/known_hosts\n', mode: 0o600 },
    'usr/local/sbin/nslab-seed': {
      mode: 0o755,
      text: `#!/bin/sh
# Gives this machine its lab identity from the seed disk, once: files copied over /, then
# the seed's run.sh. A system restored from tarballs carries the done-marker and is left alone.
set -e
disk=/dev/disk/by-id/virtio-${SEED_SERIAL}
for i in $(seq 50); do [ -e "$disk" ] && break; sleep 0.2; done
[ -e "$disk" ] || { echo "nslab-seed: no seed disk"; exit 0; }
mkdir -p /run/nslab-seed
mount -o ro "$disk" /run/nslab-seed
cp -a /run/nslab-seed/root/. /
[ -x /run/nslab-seed/run.sh ] && /run/nslab-seed/run.sh
umount /run/nslab-seed
touch /etc/nslab-seeded
hostname -F /etc/hostname
`,
    },
    'etc/systemd/system/nslab-seed.service': {
      text: `[Unit]
Description=Lab identity from the seed disk
DefaultDependencies=no
ConditionPathExists=!/etc/nslab-seeded
After=local-fs.target systemd-udevd.service
Before=network-pre.target ssh.service networking.service dns-answer.service
Wants=network-pre.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/nslab-seed

[Install]
WantedBy=sysinit.target
`,
    },
    'etc/systemd/system/dns-answer.service': {
      text: `[Unit]
Description=DNS answers from /etc/hosts (dnsmasq)
After=networking.service

[Service]
ExecStart=/usr/sbin/dnsmasq --keep-in-foreground --no-resolv --user=root --bind-dynamic --except-interface=eth0
Restart=always

[Install]
WantedBy=multi-user.target
`,
    },
    // Runs instead of init on the image's first boot: installs GRUB for real, then powers off.
    'usr/local/sbin/nslab-firstboot': {
      mode: 0o755,
      text: `#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -o remount,rw /
if grub-install --target=i386-pc /dev/vda && update-grub && mkswap -U ${IMAGE_SWAP_UUID} /dev/vda2 && systemctl enable nslab-seed.service dns-answer.service; then
  echo "nslab-firstboot: ok"
else
  echo "nslab-firstboot: FAILED"
fi
sync; mount -o remount,ro /
echo o > /proc/sysrq-trigger
sleep 30
`,
    },
  };
}
