// The probe script run by real shells (dash as /bin/sh, BusyBox sh with a bare PATH), and
// the reading of what it printed: only output that ran to its end counts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeScript, readProbe, type ProbeRequest } from './host-probes.js';
import { launcherCarrying } from './launcher.js';

const BUSYBOX = '/bin/busybox';
const made: string[] = [];
const temporary = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function run(request: ProbeRequest, env: NodeJS.ProcessEnv, shell: string[] = ['/bin/sh', '-c']): string {
  const result = spawnSync(shell[0]!, [...shell.slice(1), probeScript(request)], { env, encoding: 'utf8' });
  return result.stdout;
}

describe('the probe script on a real shell', () => {
  it('finds the tools, the first run folder (made for the probe and removed again) and its free space', () => {
    const home = temporary('ns-probe-home-');
    const printed = run({ tools: ['grep', 'no-such-tool-here', 'bad;name'], sudo: false }, { HOME: home, PATH: process.env['PATH'] ?? '/usr/bin:/bin' });
    const facts = readProbe(printed);
    expect(facts, printed).not.toBeNull();
    expect(facts!.sha256Tool).toMatch(/^(openssl|sha256sum|shasum)$/);
    expect(facts!.setsid).toBe(true);
    expect(facts!.foundTools).toEqual(['grep']);
    // A name a shell would read otherwise is never put in the script: it is not found either.
    expect(facts!.missingTools).toEqual(['no-such-tool-here']);
    expect(facts!.runFolder?.base).toBe(path.join(home, '.local/state/nightshift'));
    expect(facts!.runFolder?.freeKib).toBeGreaterThan(0);
    expect(existsSync(path.join(home, '.local/state/nightshift'))).toBe(false);
    expect(facts!.uid).toBe(String(process.getuid?.()));
  });

  it('the runbook run_dir first; a base that cannot be made is passed over with what the host said', () => {
    const runDir = path.join(temporary('ns-probe-rd-'), 'runs');
    mkdirSync(runDir);
    const given = readProbe(run({ tools: [], sudo: false, runDir }, { HOME: '/nonexistent', PATH: '/usr/bin:/bin' }));
    expect(given!.runFolder?.base).toBe(runDir);
    expect(existsSync(runDir)).toBe(true);
    const passed = readProbe(run({ tools: [], sudo: false }, { HOME: '/proc', PATH: '/usr/bin:/bin' }));
    expect(passed!.runFolderSkipped[0]).toMatch(/^\/proc\/\.local\/state\/nightshift: .+/);
    expect(passed!.runFolder?.base).toMatch(/^\/(var\/)?tmp\/nightshift-\d+$/);
  });

  it.skipIf(!existsSync(BUSYBOX))('BusyBox sh with a bare PATH: no sha256 tool, no setsid, and it says so', () => {
    const bin = temporary('ns-probe-bin-');
    for (const applet of ['id', 'mkdir', 'rm', 'rmdir', 'df', 'tr']) symlinkSync(BUSYBOX, path.join(bin, applet));
    const home = temporary('ns-probe-bbhome-');
    const printed = run({ tools: ['id', 'grep'], sudo: false }, { HOME: home, PATH: bin }, [BUSYBOX, 'sh', '-c']);
    const facts = readProbe(printed);
    expect(facts, printed).not.toBeNull();
    expect(facts!.sha256Tool).toBeNull();
    expect(facts!.setsid).toBe(false);
    expect(facts!.systemctl).toBe(false);
    expect(facts!.foundTools).toEqual(['id']);
    expect(facts!.missingTools).toEqual(['grep']);
    expect(facts!.runFolder?.base).toBe(path.join(home, '.local/state/nightshift'));
    expect(facts!.runFolder?.freeKib).toBeGreaterThan(0);
  });

  it.skipIf(process.getuid?.() !== 0 || !existsSync('/usr/bin/sudo'))('sudo as root: no password asked', () => {
    const facts = readProbe(run({ tools: [], sudo: true }, { HOME: temporary('ns-probe-sudo-'), PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }));
    expect(facts!.sudo).toBe('no-password');
  });
});

describe('the probe on the command line', () => {
  it('fits there for a runbook with sudo, a run_dir and a dozen tools, so it starts a round trip sooner', () => {
    const tools = ['grep', 'sed', 'awk', 'findmnt', 'blkid', 'sgdisk', 'partprobe', 'mkfs.ext4', 'rsync', 'grub-install', 'update-grub', 'systemctl'];
    const line = launcherCarrying(probeScript({ tools, sudo: true, runDir: '/srv/it\'s a "run" dir' }));
    expect(line).not.toBeNull();
  });
});

describe('reading what the probe printed', () => {
  it('counts nothing when the end mark is not the last line, or /bin/sh did not say it ran', () => {
    expect(readProbe('')).toBeNull();
    expect(readProbe('sh=ok\nsetsid=yes\n')).toBeNull();
    expect(readProbe('sh=ok\nend=ok\nsetsid=yes\n')).toBeNull();
    expect(readProbe('setsid=yes\nend=ok\n')).toBeNull();
    const facts = readProbe('banner from a login script\nsh=ok\nsetsid=yes\nsudo=whatever\nrunfolder=/x\nrunfolder_free_kib=lots\nend=ok\n');
    expect(facts).toMatchObject({ setsid: true, sha256Tool: null, runFolder: { base: '/x', freeKib: null } });
    expect(facts).not.toHaveProperty('sudo');
  });
});
