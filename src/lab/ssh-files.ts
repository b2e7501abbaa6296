// The files an SSH client needs to reach the lab: an ssh_config naming the hosts and a
// known_hosts pinning their keys.
import { writeFile } from 'node:fs/promises';
import { DemoLabError } from './demo-lab-error.js';
import { publicKeyWithoutComment } from './keys.js';

export interface LabEndpoint {
  name: string;
  port: number;
  hostPublicKey: string;
}

export async function writeSshConfig(
  file: string,
  endpoints: LabEndpoint[],
  user: string,
  identityFile: string,
  heading = 'nightshift demo lab: these hosts live in this process on 127.0.0.1.',
) {
  const blocks = endpoints.map((endpoint) =>
    [
      `Host ${endpoint.name}`,
      '  HostName 127.0.0.1',
      `  Port ${endpoint.port}`,
      `  User ${user}`,
      `  IdentityFile ${quoteConfigValue(identityFile)}`,
      // Keys in an agent would be offered first and only ever be refused.
      '  IdentitiesOnly yes',
    ].join('\n'),
  );
  await writeFile(file, `# ${heading}\n\n${blocks.join('\n\n')}\n`, {
    mode: 0o600,
  });
}

export async function writeKnownHosts(file: string, endpoints: LabEndpoint[]) {
  const lines = endpoints.map((endpoint) => `[127.0.0.1]:${endpoint.port} ${publicKeyWithoutComment(endpoint.hostPublicKey)}`);
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

function quoteConfigValue(value: string): string {
  if (value.includes('"')) throw new DemoLabError(`The lab folder's path cannot go into an ssh_config: ${value}`);
  return /\s/.test(value) ? `"${value}"` : value;
}
