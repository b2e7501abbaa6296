import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { HostSpec } from '../runbook/types.js';
import { resolveHost, resolveHostsAhead } from './ssh-config.js';
import { resolveManyWithSsh } from './ssh-resolve-many.js';

let home: string;
let configFile: string;

beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), 'ns-sshmany-'));
  configFile = path.join(home, '.ssh', 'config');
  mkdirSync(path.dirname(configFile));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const options = () => ({ configFile, env: { HOME: home }, sshBinary: '/usr/bin/ssh' });

describe('resolving many hosts ahead with one ssh -G batch', () => {
  test("gives each host what ssh -G gives it alone, the runbook's values included", async () => {
    writeFileSync(
      configFile,
      ['Host web*', '  User deploy', '  Port 2200', 'Host web2', '  HostName 10.0.0.2', 'Host db', '  IdentityFile ~/.ssh/db_%h', ''].join('\n'),
    );
    const specs: HostSpec[] = [
      { name: 'web1', alias: 'web1' },
      { name: 'web2', alias: 'web2', port: 2201 },
      { name: 'db', alias: 'db', user: 'ops', identityFile: '~/keys/100%.key' },
    ];
    const ahead = await resolveHostsAhead(specs, options());
    expect([...ahead.keys()]).toEqual(['web1', 'web2', 'db']);
    for (const spec of specs) expect(ahead.get(spec.name)).toEqual(await resolveHost(spec, options()));
    expect(ahead.get('web2')).toMatchObject({ address: '10.0.0.2', port: 2201, user: 'deploy' });
  });

  test('leaves out a host ssh refuses, to be asked alone, which says why', async () => {
    writeFileSync(configFile, ['Host bad', '  Port 99999', ''].join('\n'));
    const specs: HostSpec[] = [
      { name: 'good', alias: 'good' },
      { name: 'bad', alias: 'bad' },
    ];
    const ahead = await resolveHostsAhead(specs, options());
    // The whole file is refused by ssh, for every host: none is answered, and each is asked alone.
    expect(ahead.size).toBe(0);
    await expect(resolveHost(specs[1]!, options())).rejects.toThrow("Bad port '99999'");
  });

  test('quotes each host for the shell: what ssh refuses is left out, nothing runs, the hosts around it are answered', async () => {
    const specs: HostSpec[] = [
      { name: 'a', alias: 'a' },
      { name: 'b', alias: 'b', user: "o'brien; touch pwned" },
      { name: 'c', alias: 'c', address: '$(touch pwned)' },
      { name: 'd', alias: 'd' },
    ];
    const ahead = await resolveHostsAhead(specs, options());
    expect([...ahead.keys()]).toEqual(['a', 'd']);
    expect(existsSync('pwned')).toBe(false);
  });

  test('split over several shells, every host gets its own answer', async () => {
    writeFileSync(configFile, Array.from({ length: 30 }, (_, index) => `Host h${index}\n  HostName 10.0.1.${index}\n  Port ${2000 + index}\n`).join(''));
    const specs: HostSpec[] = Array.from({ length: 30 }, (_, index) => ({
      name: `host${index}`,
      alias: `h${index}`,
      ...(index === 7 ? { user: 'seven' } : {}),
    }));
    const ahead = await resolveManyWithSsh(specs, { configFile, env: { HOME: home }, sshBinary: '/usr/bin/ssh' }, 3);
    expect([...ahead.keys()]).toEqual(specs.map((spec) => spec.name));
    specs.forEach((spec, index) => expect(ahead.get(spec.name)).toMatchObject({ address: `10.0.1.${index}`, port: 2000 + index }));
    expect(ahead.get('host7')?.user).toBe('seven');
    expect(ahead.get('host8')?.user).not.toBe('seven');
  });

  test("answers nothing without ssh: the hosts are resolved alone, by nightshift's own parser", async () => {
    expect((await resolveHostsAhead([{ name: 'a', alias: 'a' }], { ...options(), sshBinary: null })).size).toBe(0);
  });
});
