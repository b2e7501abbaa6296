// The rehearsal lab's pure parts: the lab files that ship next to runbooks, and the QEMU
// command line (isolation is in its arguments: restrict=on, SSH forwarded to loopback only).
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labFileFor, readLabFile } from './lab-file.js';
import { qemuArgs } from './qemu.js';

const runbooks = path.resolve(import.meta.dirname, '../../../runbooks');

describe('lab files', () => {
  const shipped = readdirSync(runbooks).filter((name) => name.endsWith('.lab.yaml'));

  it.each(shipped)('%s is valid and belongs to a runbook', async (name) => {
    const runbook = path.join(runbooks, name.replace('.lab.yaml', '.yaml'));
    expect(labFileFor(runbook)).toBe(path.join(runbooks, name));
    const { lab } = await readLabFile(runbook);
    expect(Object.keys(lab.machines).length).toBeGreaterThan(0);
  });

  it('says which key is wrong, and refuses more machines than the CPUs can emulate', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-labfile-'));
    writeFileSync(path.join(dir, 'x.lab.yaml'), 'machines:\n  a: { adress: 10.0.0.1/24 }\n');
    await expect(readLabFile(path.join(dir, 'x.yaml'))).rejects.toThrow(/x\.lab\.yaml:2:8: machines\.a: unknown key 'adress'/);
    writeFileSync(path.join(dir, 'x.lab.yaml'), 'machines:\n  a: {}\n  b: {}\n  c: {}\n  d: {}\n');
    await expect(readLabFile(path.join(dir, 'x.yaml'))).rejects.toThrow(/x\.lab\.yaml:5:3: at most 3 machines/);
    await expect(readLabFile(path.join(dir, 'none.yaml'))).rejects.toThrow(/has no rehearsal lab: .*none\.lab\.yaml is missing/);
  });
});

describe('the QEMU command line', () => {
  const args = qemuArgs({
    name: 'dolphin',
    dir: '/lab/dolphin',
    sshPort: 40022,
    macSuffix: '02:01',
    bridge: 'nsl-abc',
    disks: [
      { file: '/lab/dolphin/system.qcow2', serial: 'nslab-system', format: 'qcow2' },
      { file: '/lab/dolphin/seed.img', serial: 'nslab-seed', format: 'raw', readonly: true },
    ],
  }).join(' ');

  it('emulates one small CPU, and resets end QEMU (the supervisor starts it afresh)', () => {
    expect(args).toContain('-accel tcg,tb-size=64 -smp 1 -m 512');
    expect(args).toContain('-no-reboot');
  });

  it('reaches nothing but what is forwarded, and forwards SSH from 127.0.0.1 only', () => {
    expect(args).toContain('-netdev user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22');
    expect(args).toContain('-netdev tap,id=private,script=/lab/dolphin/if-up,downscript=no');
  });

  it('names each disk by its serial, and keeps the seed read-only', () => {
    expect(args).toContain('-device virtio-blk-pci,drive=disk0,serial=nslab-system');
    expect(args).toContain('file=/lab/dolphin/seed.img,if=none,id=disk1,format=raw,readonly=on');
  });

  it('puts the console in a log and the power button on a socket', () => {
    expect(args).toContain('file,id=console,path=/lab/dolphin/serial.log,append=on');
    expect(args).toContain('-monitor unix:/lab/dolphin/monitor.sock,server,nowait');
  });
});
