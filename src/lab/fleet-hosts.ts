// The fleet scenario's machines: a dozen guests as folders, each with a small package
// database (var/lib/pkg/status, one "STATE NAME VERSION" line per package, STATE as in
// dpkg: ii is installed and configured) and the versions its mirror offers. One guest has
// a package left half-configured by an earlier, interrupted update: the demo's failure.
import path from 'node:path';
import { lines, writeFileTree, type FileTree } from './file-tree.js';

export const FLEET_HOST_NAMES = ['vm01', 'vm02', 'vm03', 'vm04', 'vm05', 'vm06', 'vm07', 'vm08', 'vm09', 'vm10', 'vm11', 'vm12'] as const;

/**
 * The guest whose package check fails. With the shipped runbook's canary 1 and serial 4 it
 * is in the second batch, so the rollout halts before the third.
 */
export const FAILING_FLEET_HOST = 'vm03';

const INSTALLED: ReadonlyArray<[string, string]> = [
  ['base-files', '12.4+deb12u7'],
  ['libssl3', '3.0.14-1~deb12u2'],
  ['openssl', '3.0.14-1~deb12u2'],
  ['openssh-server', '1:9.2p1-2+deb12u3'],
  ['nginx', '1.22.1-9'],
  ['tzdata', '2024a-0+deb12u1'],
];

const ON_THE_MIRROR: ReadonlyArray<[string, string]> = [
  ['base-files', '12.4+deb12u11'],
  ['libssl3', '3.0.16-1~deb12u1'],
  ['openssl', '3.0.16-1~deb12u1'],
  ['openssh-server', '1:9.2p1-2+deb12u6'],
  ['nginx', '1.22.1-9+deb12u2'],
  ['tzdata', '2025b-0+deb12u1'],
];

function guest(name: string): FileTree {
  // dpkg's iF: the package was unpacked, its configuration never finished.
  const state = (pkg: string) => (name === FAILING_FLEET_HOST && pkg === 'libssl3' ? 'iF' : 'ii');
  return {
    'etc/hostname': lines(name),
    'var/lib/pkg/status': lines(...INSTALLED.map(([pkg, version]) => `${state(pkg)} ${pkg} ${version}`)),
    'var/lib/pkg/mirror': lines(...ON_THE_MIRROR.map(([pkg, version]) => `${pkg} ${version}`)),
    'var/log/pkg.log': '',
    'var/backups/': '',
  };
}

/** Seeds <hostsDir>/<name>/ for every guest; returns the folders by host name. */
export async function seedFleetSandboxes(hostsDir: string): Promise<Record<string, string>> {
  const roots = Object.fromEntries(FLEET_HOST_NAMES.map((name) => [name, path.join(hostsDir, name)]));
  for (const name of FLEET_HOST_NAMES) await writeFileTree(roots[name]!, guest(name));
  return roots;
}
