// The facts `when:` reads, gathered by the real script from a real sshd (this machine's
// userland, then a BusyBox-only one with ash as /bin/sh and login shell, and a hostile
// os-release bound in) and from a real dropbear in a BusyBox-only environment.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostPool } from '../../src/remote/host-pool.js';
import type { HostFacts } from '../../src/runbook/types.js';
import { HostFactsCache, osRelease } from '../../src/runner/host-facts.js';
import { Dropbear, dropbearInstalled } from '../support/dropbear.js';
import { makeHome, removeHome } from '../support/ssh-pool.js';
import { describeWithSshd } from '../support/sshd.js';
import { withSshd } from '../support/with-sshd.js';

const BUSYBOX = '/bin/busybox';
const scratch = mkdtempSync(path.join(tmpdir(), 'ns-facts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What this machine says of itself, as the facts should: the sshd runs here. */
function localFacts(): HostFacts {
  const os = osRelease(readFileSync('/etc/os-release', 'utf8').split('\n'));
  return {
    systemd: (() => {
      try {
        execFileSync('test', ['-d', '/run/systemd/system']);
        return true;
      } catch {
        return false;
      }
    })(),
    cpus: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    distro: os.get('ID') ?? '',
    distro_like: os.get('ID_LIKE') ?? '',
    distro_version: os.get('VERSION_ID') ?? '',
    kernel: release(),
    arch: execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim(),
  };
}

function gather(pool: HostPool): { facts: HostFactsCache; journaled: Array<{ host: string; facts: HostFacts }> } {
  const journaled: Array<{ host: string; facts: HostFacts }> = [];
  return { facts: new HostFactsCache(pool, (host, facts) => journaled.push({ host, facts })), journaled };
}

describeWithSshd('host facts from a real sshd', () => {
  const host = withSshd({}, { pool: true });

  it("are this machine's, gathered once and journaled once", async () => {
    const { facts, journaled } = gather(host.pool);
    const first = await facts.of('dragon');
    expect(first).toEqual(localFacts());
    expect(await facts.of('dragon')).toBe(first);
    expect(journaled).toEqual([{ host: 'dragon', facts: first }]);
  });
});

describeWithSshd('host facts from a BusyBox-only host', () => {
  const applets = path.join(scratch, 'bin');
  beforeAll(() => {
    mkdirSync(applets, { recursive: true });
    for (const applet of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      symlinkSync(BUSYBOX, path.join(applets, applet));
    }
  });
  const host = withSshd({ loginShell: path.join(applets, 'ash'), binSh: BUSYBOX, env: { PATH: applets }, home: {} }, { pool: true });

  it('are read with BusyBox applets only (no nproc of coreutils)', async () => {
    const { facts } = gather(host.pool);
    const expected = localFacts();
    expect(await facts.of('dragon')).toEqual({ ...expected, cpus: expect.any(Number) });
    expect((await facts.of('dragon')).cpus).toBeGreaterThan(0);
  });

  it('take a hostile os-release as text: never run, its values kept as they are', async () => {
    const hostile = path.join(scratch, 'os-release');
    writeFileSync(hostile, 'ID="$(touch /tmp/ns-facts-ran)\u001b[2J"\nVERSION_ID=`id`\nID_LIKE=\'a b\'\n');
    host.sshd.inNamespace(`mount --bind ${hostile} /etc/os-release`);
    rmSync('/tmp/ns-facts-ran', { force: true });
    const { facts } = gather(host.pool);
    const read = await facts.of('dragon');
    expect(read).toMatchObject({ distro: '$(touch /tmp/ns-facts-ran)\u001b[2J', distro_version: '`id`', distro_like: 'a b' });
    expect(host.sshd.inNamespace('[ -e /tmp/ns-facts-ran ] && echo ran || echo not-run').trim()).toBe('not-run');
  });
});

if (!dropbearInstalled()) throw new Error('These tests need dropbear-bin and busybox.');

describe('host facts from dropbear in a BusyBox-only environment', () => {
  let dropbear: Dropbear;
  let home: string;
  let pool: HostPool;
  beforeAll(async () => {
    dropbear = await Dropbear.start();
    home = makeHome();
    pool = dropbear.pool(home);
  });
  afterAll(async () => {
    await pool?.close();
    await dropbear?.stop();
    if (home) removeHome(home);
  });

  it('are read there too', async () => {
    const { facts } = gather(pool);
    const read = await facts.of('dragon');
    expect(read.kernel).toBe(release());
    expect(read.cpus).toBeGreaterThan(0);
    expect(typeof read.systemd).toBe('boolean');
  });
});
