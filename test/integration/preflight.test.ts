// Preflight checks run on OpenSSH's sshd over the host pool: each check's verdict is a line
// of the step's output and a failed one fails the step. The "disk" is an image file that
// sfdisk gave a partition table (sfdisk and blkid read files as they read devices).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { StepOutput } from '../../src/output/step-output.js';
import { parseRunbook } from '../../src/runbook/load.js';
import type { PreflightStep } from '../../src/runbook/types.js';
import { runPreflight } from '../../src/runner/preflight.js';
import { describeWithSshd } from '../support/sshd.js';
import { withSshd } from '../support/with-sshd.js';

const hasArping = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v arping'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describeWithSshd('preflight checks on a host', () => {
  const host = withSshd({}, { pool: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'ns-preflight-'));

  /** Runs the checks (YAML list items) and returns the verdict lines and the error, if the step failed. */
  async function check(checks: string): Promise<{ lines: string[]; error?: string }> {
    const source = `name: t\nhosts:\n  dragon: {}\nphases:\n  - name: one\n    steps:\n      - preflight: dragon\n        checks:\n${checks}`;
    const step = parseRunbook(source, 'rb.yaml').phases[0]!.steps[0] as PreflightStep;
    const output = new StepOutput(path.join(dir, `out-${Math.random()}.log`));
    let error: string | undefined;
    await runPreflight(step, host.pool, output, new AbortController().signal).catch((e: Error) => (error = e.message));
    await output.close();
    return { lines: output.ring.tail(100).map((line) => line.text), ...(error !== undefined ? { error } : {}) };
  }

  it('mem_available passes with enough, fails with too little, and the step fails naming the check', async () => {
    const passed = await check('          - mem_available: 1M\n');
    expect(passed.error).toBeUndefined();
    expect(passed.lines[0]).toMatch(/^ok: mem_available: at least 1M available: [\d.]+[KMG] available, at least 1M needed$/);
    const failed = await check('          - mem_available: 1M\n          - mem_available: 99999G\n');
    expect(failed.lines[1]).toMatch(/^FAILED: mem_available: at least 99999G available: only [\d.]+[KMG] available, 99999G needed$/);
    expect(failed.error).toBe('1 of 2 preflight checks failed on dragon: mem_available');
  });

  it('fstab names the UUID that no filesystem has', async () => {
    const fstab = path.join(dir, 'fstab');
    writeFileSync(fstab, 'UUID=0ddba11-no-such-fs / ext4 defaults 0 1\nproc /proc proc defaults 0 0\n');
    const { lines, error } = await check(`          - fstab: ${fstab}\n`);
    expect(lines[0]).toBe(
      `FAILED: fstab ${fstab}: its filesystems and the boot entry's root= exist: no filesystem here has UUID=0ddba11-no-such-fs (in ${fstab})`,
    );
    expect(error).toMatch(/1 of 1 preflight checks failed on dragon: fstab/);
    writeFileSync(fstab, 'proc /proc proc defaults 0 0\n');
    expect((await check(`          - fstab: ${fstab}\n`)).lines[0]).toMatch(/^ok: fstab .*: 0 filesystems named, all found/);
  });

  it('disk matches the partition table id, refuses another, and says an empty disk has none', async () => {
    const image = path.join(dir, 'disk.img');
    execFileSync('truncate', ['-s', '8M', image]);
    execFileSync('sfdisk', ['--quiet', image], { input: 'label: dos\nlabel-id: 0x0a1b2c3d\n,,L\n' });
    expect((await check(`          - disk: { device: ${image}, ptuuid: 0a1b2c3d }\n`)).lines[0]).toBe(
      `ok: disk ${image}: ptuuid 0a1b2c3d: ${image} has partition table id 0a1b2c3d`,
    );
    expect((await check(`          - disk: { device: ${image}, ptuuid: '99999999' }\n`)).lines[0]).toBe(
      `FAILED: disk ${image}: ptuuid 99999999: ${image} has partition table id 0a1b2c3d, not 99999999: another disk`,
    );
    const empty = path.join(dir, 'empty.img');
    execFileSync('truncate', ['-s', '8M', empty]);
    expect((await check(`          - disk: { device: ${empty}, ptuuid: 0a1b2c3d }\n`)).lines[0]).toMatch(/has no partition table, so no ptuuid/);
    expect((await check(`          - disk: { device: ${dir}/nosuch, ptuuid: 0a1b2c3d }\n`)).lines[0]).toMatch(/nosuch does not exist$/);
  });

  it('address_free: an address a neighbour holds is in use, one nobody has is free, and the method is named', async () => {
    if (!hasArping) {
      // Without arping the check falls back to ping, and says so.
      const taken = await check('          - address_free: { address: 127.0.0.1, interface: lo }\n');
      const free = await check('          - address_free: { address: 192.0.2.77, interface: lo }\n');
      expect(taken.lines[0]).toMatch(/FAILED: .*127\.0\.0\.1 is in use on lo: it answers ping \(arping is missing/);
      expect(free.lines[0]).toMatch(/^ok: .*nobody answered ping for 192\.0\.2\.77 on lo .*arping is missing/);
      return;
    }
    // arping does not work on loopback: the neighbour is on a veth pair, its end in a network
    // namespace holding 10.77.0.2.
    const namespace = `nspf-${process.pid}`;
    const link = `nspf${process.pid % 100000}`;
    execFileSync('ip', ['netns', 'add', namespace]);
    try {
      execFileSync('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
      execFileSync('ip', ['link', 'set', link, 'up']);
      execFileSync('ip', ['-n', namespace, 'address', 'add', '10.77.0.2/24', 'dev', 'eth0']);
      execFileSync('ip', ['-n', namespace, 'link', 'set', 'eth0', 'up']);
      const taken = await check(`          - address_free: { address: 10.77.0.2, interface: ${link} }\n`);
      expect(taken.lines[0]).toMatch(/^FAILED: .*answered arping -D/);
      const free = await check(`          - address_free: { address: 10.77.0.9, interface: ${link} }\n`);
      expect(free.lines[0]).toMatch(/^ok: .*nobody answered arping -D for 10\.77\.0\.9/);
    } finally {
      execFileSync('ip', ['netns', 'delete', namespace]);
    }
  });

  it('address_free on an interface the host does not have says so', async () => {
    expect((await check('          - address_free: { address: 192.0.2.77, interface: nosuch0 }\n')).lines[0]).toMatch(/there is no interface nosuch0$/);
  });
});
