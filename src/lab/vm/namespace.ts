// A network namespace with one card (eth0) on a lab bridge: the observer, the upstream.
import { tool } from './shell.js';

export async function namespaceOnBridge(namespace: string, veth: string, bridge: string, address: string): Promise<void> {
  await tool('ip', ['netns', 'add', namespace]);
  await tool('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
  await tool('ip', ['link', 'set', veth, 'master', bridge, 'up']);
  await tool('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
  await tool('ip', ['-n', namespace, 'link', 'set', 'eth0', 'up']);
  await tool('ip', ['-n', namespace, 'address', 'add', address, 'dev', 'eth0']);
}

/**
 * Takes down what `namespaceOnBridge` made. The card goes first, from this side: a deleted
 * namespace's cards go only when the kernel gets round to it (seconds, on a busy machine),
 * and a lab brought up again at once found the card's name still taken ("File exists").
 */
export async function removeNamespaceOnBridge(namespace: string, veth: string | undefined): Promise<void> {
  if (veth !== undefined) await tool('ip', ['link', 'delete', veth]).catch(() => undefined);
  await tool('ip', ['netns', 'delete', namespace]).catch(() => undefined);
}
