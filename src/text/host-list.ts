// A list of hosts for a sentence, kept short enough to read at 3 AM.
import { visibleLine } from '../output/neutralize.js';

/** The rollout's failed hosts, named: the first few, then how many more. */
export function hostList(hosts: readonly string[], most = 8): string {
  const named = hosts.slice(0, most).map(visibleLine).join(', ');
  return hosts.length > most ? `${named} and ${hosts.length - most} more` : named;
}
