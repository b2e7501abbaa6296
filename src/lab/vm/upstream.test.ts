import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLabFile } from './lab-file.js';
import { networkOf, wanNamingFiles, writeUpstreamSshFiles } from './upstream.js';

const LAB = `machines:
  dragon: { address: 192.168.10.1/24, wan: true }
  dolphin: { address: 192.168.10.20/24, wan: true }
upstream:
  name: isp
  address: 203.0.113.1/24
  source: 198.51.100.1/24
  hosts:
    dragon: { address: 203.0.113.10, keys: [dragon, dolphin] }
    dolphin: { address: 192.168.10.20, jump: dragon, keys: [dolphin] }
`;

describe("the lab's provider side", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-upstream-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the network of an address as the kernel does', () => {
    expect(networkOf('203.0.113.1/24')).toBe('203.0.113.0/24');
    expect(networkOf('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(networkOf('192.168.10.77/30')).toBe('192.168.10.76/30');
    expect(networkOf('0.0.0.0/0')).toBe('0.0.0.0/0');
  });

  it('takes a lab file with an upstream, and refuses a card with nowhere to go, an unknown jump and unknown keys, each at its place', () => {
    expect(checkLabFile(LAB).problems).toEqual([]);
    const broken = LAB.replace('upstream:', 'nowhere:').replace(/^nowhere:[\s\S]*$/m, '');
    expect(checkLabFile(broken).problems.map((problem) => problem.message)).toEqual([
      'machines.dragon.wan: a card on the upstream network needs upstream:',
      'machines.dolphin.wan: a card on the upstream network needs upstream:',
    ]);
    const wrong = LAB.replace('jump: dragon', 'jump: dragn').replace('keys: [dolphin]', 'keys: [dolpin]');
    expect(checkLabFile(wrong).problems).toEqual([
      { line: 10, col: 40, message: "upstream.hosts.dolphin.jump: 'dragn' is not another upstream host" },
      { line: 10, col: 53, message: "upstream.hosts.dolphin.keys: 'dolpin' is not a machine of this lab" },
    ]);
  });

  it('writes an ssh config that OpenSSH reads: the gateway through the namespace, the others through the gateway, each pinned under its own name', async () => {
    const { lab } = checkLabFile(LAB);
    const files = { sshConfig: path.join(dir, 'run_ssh_config'), knownHosts: path.join(dir, 'run_known_hosts') };
    const keys = { dragon: 'ssh-ed25519 AAAAdragon root@dragon', dolphin: 'ssh-ed25519 AAAAdolphin root@dolphin' };
    await writeUpstreamSshFiles(files, lab!.upstream!, { name: 'isp', namespace: 'nsl-x-isp', bridge: 'nsl-x-w', address: '203.0.113.1/24' }, keys, '/k/id');
    const settings = (host: string) => execFileSync('ssh', ['-G', '-F', files.sshConfig, host], { encoding: 'utf8' });
    expect(settings('dragon')).toMatch(/^proxycommand ip netns exec nsl-x-isp nc %h %p$/m);
    expect(settings('dragon')).toMatch(/^hostname 203\.0\.113\.10$/m);
    expect(settings('dolphin')).toMatch(/^proxyjump dragon$/m);
    expect(settings('dolphin')).toMatch(/^hostkeyalias dolphin$/m);
    expect(settings('dolphin')).toContain(`userknownhostsfile ${files.knownHosts}`);
    expect(readFileSync(files.knownHosts, 'utf8')).toBe('dragon ssh-ed25519 AAAAdragon\ndragon ssh-ed25519 AAAAdolphin\ndolphin ssh-ed25519 AAAAdolphin\n');
  });

  it('names the provider-side card wan0 by its MAC address, now and on later boots', () => {
    const { rules, rename } = wanNamingFiles('02:01');
    expect(rules).toContain('ATTR{address}=="52:54:00:02:02:01", NAME="wan0"');
    expect(() => execFileSync('sh', ['-n', '-c', rename])).not.toThrow();
    expect(rename).toContain('= 52:54:00:02:02:01 ]');
  });
});
