// A rollout over many hosts on one test sshd: `count` ssh aliases (vm01, vm02, ...) to the
// same server, and a runbook whose for_each phase runs a short step on each; one host fails.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Sshd } from './sshd.js';

export const fleetHostNames = (count: number): string[] => Array.from({ length: count }, (_, index) => `vm${String(index + 1).padStart(2, '0')}`);

/** What the ssh config, the known hosts and the runbook need for `hosts`, written into `dir`; returns the runbook's path. */
export function writeFleetRun(
  sshd: Sshd,
  dir: string,
  hosts: string[],
  failing: string,
  options: { serial: number; maxFail: number; go: string; canary?: number },
): string {
  writeFileSync(path.join(dir, 'ssh_config'), hosts.map((host) => sshd.clientConfig(host)).join(''));
  writeFileSync(path.join(dir, 'known_hosts'), `${sshd.knownHostsLine()}\n`);
  const runbook = path.join(dir, 'fleet.yaml');
  // Each host prints its name, then waits (at most 20 s) for the go file, so that the screen
  // can be looked at while they run; the failing one fails at once.
  const command = `echo "updating {{guest}}"; if [ "{{guest}}" = "${failing}" ]; then echo "E: dpkg was interrupted on {{guest}}" >&2; exit 3; fi; for i in $(seq 200); do [ -e ${options.go} ] && break; sleep 0.1; done; echo "{{guest}} is up to date"`;
  writeFileSync(
    runbook,
    `name: Fleet update
groups:
  guests: [${hosts.join(', ')}]
phases:
  - name: update
    for_each: { group: guests, as: guest }
    serial: ${options.serial}
    max_fail: ${options.maxFail}${options.canary !== undefined ? `\n    canary: ${options.canary}` : ''}
    steps:
      - run: ${JSON.stringify(command)}
        host: "{{guest}}"
        title: update the packages
    fallback:
      - run: echo "restoring {{guest}}"
        host: "{{guest}}"
        title: restore the snapshot
`,
  );
  return runbook;
}
