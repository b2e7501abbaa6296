// A runbook loaded the way a run sees it: its variables, the site's zone, the hosts chosen
// for its for_each phases, and the ssh config whose aliases its groups may name.
import { loadRunbook } from '../runbook/load.js';
import type { HostSelection } from '../runbook/fleet-settings.js';
import type { Runbook } from '../runbook/types.js';
import { sshConfigAliases } from '../remote/ssh-aliases.js';

export interface RunbookTarget {
  vars: Record<string, string>;
  siteTimeZone?: string;
  select?: HostSelection;
  sshConfigFile?: string;
}

export function loadRunbookFor(file: string, target: RunbookTarget): Promise<Runbook> {
  return loadRunbook(file, {
    vars: target.vars,
    ...(target.siteTimeZone !== undefined ? { siteTimeZone: target.siteTimeZone } : {}),
    ...(target.select ? { select: target.select } : {}),
    sshAliases: () => sshConfigAliases(target.sshConfigFile),
  });
}
