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
