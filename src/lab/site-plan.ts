// The names and addresses of the seed story's Taipei office, shared by the sandboxes the
// lab seeds. The demo runbook's vars repeat them; the lab test proves the two agree.

export const HOST_NAMES = ['dragon', 'dolphin', 'elephant'] as const;
export type HostName = (typeof HOST_NAMES)[number];

export const SITE = {
  domain: 'taipei.example.net',
  /** The ISP's router on the far side of the modem. */
  ispGateway: '203.0.113.1',
  dragonPublic: '203.0.113.10',
  dragonPrivate: '192.168.10.1',
  elephant: '192.168.10.2',
  dolphin: '192.168.10.20',
  /** The Massachusetts gateway's router: a route copied from there is the seed story's mistake. */
  wrongGateway: '198.51.100.1',
  netmask: '255.255.255.0',
  privateNet: '192.168.10.0/24',
  publicNet: '203.0.113.0/24',
} as const;

/** The demo disk image in dolphin's sandbox and the folder the new root is restored into. */
export const DISK_IMAGE = 'disk0.img';
export const DISK_IMAGE_BYTES = 64 * 1024 * 1024;
