// The provider's side of a rehearsal lab (lab file `upstream:`): a second bridge that the
// gateway machines' provider-side cards (wan0) are on, and a network namespace on it where the
// upgrader sits. A run on the lab reaches the site from there, as from across the ocean: the
// gateway by its provider-side address, every other machine only through the gateway
// (ProxyJump). The machines' forwarded management ports stay the tests' view from the side.
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { publicKeyWithoutComment } from '../keys.js';
import { missingTools } from '../preflight.js';
import { LabError } from './lab-error.js';
import type { LabFile } from './lab-file.js';
import { namespaceOnBridge, removeNamespaceOnBridge } from './namespace.js';
import { tool } from './shell.js';

export interface UpstreamState {
  name: string;
  namespace: string;
  bridge: string;
  /** The namespace's card on this side, on the bridge (absent in a lab brought up before it was kept). */
  veth?: string;
  address: string;
  /** The address the upgrader's connections come from, when it is not `address`. */
  source?: string;
}

/** The provider-side card's MAC address: its last two bytes are the machine's. */
export function wanMac(macSuffix: string): string {
  return `52:54:00:02:${macSuffix}`;
}

/** Names the provider-side card wan0 on the first boot (now) and on every later one (udev), in the system restored too once it takes the rules over. */
export function wanNamingFiles(macSuffix: string): { rules: string; rename: string } {
  const mac = wanMac(macSuffix);
  return {
    rules: `# The card toward the provider (the modem).\nSUBSYSTEM=="net", ACTION=="add", ATTR{address}=="${mac}", NAME="wan0"\n`,
    rename: [
      '# The card toward the provider is wan0 (70-persistent-net.rules names it from the next boot on).',
      `for dev in /sys/class/net/*; do if [ "$(cat "$dev/address")" = ${mac} ] && [ "\${dev##*/}" != wan0 ]; then ip link set "\${dev##*/}" name wan0; fi; done`,
    ].join('\n'),
  };
}

const ipOf = (cidr: string) => cidr.split('/')[0]!;

/** The network a CIDR address is on, written as the kernel's connected route names it. */
export function networkOf(cidr: string): string {
  const [address, bits] = cidr.split('/') as [string, string];
  const prefix = Number(bits);
  const value = address.split('.').reduce((sum, byte) => sum * 256 + Number(byte), 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (value & mask) >>> 0;
  return `${[24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join('.')}/${prefix}`;
}

/** The names the provider's side will have: recorded before any is made, so that a lab that fails half way is taken down whole. */
export function plannedUpstream(id: string, upstream: NonNullable<LabFile['upstream']>): UpstreamState & { veth: string } {
  return { name: upstream.name, namespace: `nsl-${id}-${upstream.name}`, bridge: `nsl-${id}-w`, veth: `nsl-${id}-u`, address: upstream.address };
}

export async function createUpstream(
  labDir: string,
  planned: UpstreamState & { veth: string },
  upstream: NonNullable<LabFile['upstream']>,
): Promise<UpstreamState> {
  // The run's first hop: nc inside the namespace (the ProxyCommand of the ssh config below).
  if (missingTools([{ tool: 'nc', debianPackage: 'netcat-openbsd' }]).length > 0) {
    throw new LabError('A lab with an upstream reaches its gateway through nc: install it with apt-get install netcat-openbsd.');
  }
  const { bridge, namespace, veth } = planned;
  await tool('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await tool('ip', ['link', 'set', bridge, 'up']);
  await namespaceOnBridge(namespace, veth, bridge, upstream.address);
  const source = upstream.source ? ipOf(upstream.source) : undefined;
  if (upstream.source) {
    // The upgrader's own network: replies to it go by the gateway's route to the provider,
    // so a gateway that routes the provider wrong cuts the upgrader off, as on the real link.
    await tool('ip', ['-n', namespace, 'address', 'add', upstream.source, 'dev', 'eth0']);
    await tool('ip', ['-n', namespace, 'route', 'replace', networkOf(upstream.address), 'dev', 'eth0', 'src', source!]);
  }
  for (const route of upstream.routes ?? []) {
    const words = route.split(/\s+/);
    await tool('ip', ['-n', namespace, 'route', 'add', ...words, ...(source && !words.includes('src') ? ['src', source] : [])]);
  }
  const wrapper = path.join(labDir, upstream.name);
  await writeFile(wrapper, `#!/bin/sh\n# Runs a command as ${upstream.name}, on the provider's side of the lab.\nexec ip netns exec ${namespace} "$@"\n`);
  await chmod(wrapper, 0o755);
  return { ...planned, ...(source ? { source } : {}) };
}

export async function removeUpstream(upstream: UpstreamState): Promise<void> {
  await removeNamespaceOnBridge(upstream.namespace, upstream.veth);
  await tool('ip', ['link', 'delete', upstream.bridge]).catch(() => undefined);
}

/**
 * The SSH files a run on the lab uses: each host of `upstream.hosts` by the address it has
 * from the provider's side, the first hop through the namespace, the others through their
 * jump; each pinned under its own name to the keys of the machines it may turn out to be.
 */
export async function writeUpstreamSshFiles(
  files: { sshConfig: string; knownHosts: string },
  upstream: NonNullable<LabFile['upstream']>,
  state: UpstreamState,
  machineKeys: Record<string, string>,
  identityFile: string,
): Promise<void> {
  const blocks: string[] = [];
  const known: string[] = [];
  for (const [name, host] of Object.entries(upstream.hosts)) {
    blocks.push(
      [
        `Host ${name}`,
        `  HostName ${host.address}`,
        '  User root',
        `  IdentityFile ${identityFile}`,
        '  IdentitiesOnly yes',
        `  HostKeyAlias ${name}`,
        // In the file itself: the ssh that ProxyJump starts gets -F, not the caller's -o.
        `  UserKnownHostsFile ${files.knownHosts}`,
        host.jump ? `  ProxyJump ${host.jump}` : `  ProxyCommand ip netns exec ${state.namespace} nc %h %p`,
      ].join('\n'),
    );
    for (const machine of host.keys) {
      const key = machineKeys[machine];
      if (!key) throw new LabError(`upstream.hosts.${name}.keys names ${machine}, which is not a machine of this lab.`);
      known.push(`${name} ${publicKeyWithoutComment(key)}`);
    }
  }
  await writeFile(
    files.sshConfig,
    `# nightshift rehearsal lab: the site as the upgrader reaches it, from ${state.name} (${state.address}).\n\n${blocks.join('\n\n')}\n`,
    { mode: 0o600 },
  );
  await writeFile(files.knownHosts, `${known.join('\n')}\n`, { mode: 0o600 });
}
