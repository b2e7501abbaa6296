// A lab tied to a process (`lab up --tether PID`, as the tests start theirs) is taken down
// by itself once that process has ended: a test run killed half way leaves no QEMU, no
// bridge, no namespace and no folder behind. The guests need not finish booting for this.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labStateDir } from '../../src/lab/vm/paths.js';
import type { LabState } from '../../src/lab/vm/lab.js';
import { BIN, ROOT } from '../support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ns-tether-'));
const name = `tether-${process.pid}`;
const runbook = path.join(dir, `${name}.yaml`);
writeFileSync(runbook, 'name: tether\nhosts:\n  lone: {}\nphases:\n  - name: one\n    steps:\n      - note: nothing\n');
writeFileSync(
  path.join(dir, `${name}.lab.yaml`),
  'machines:\n  lone:\n    address: 192.168.77.1/24\n    wan: true\nobserver:\n  name: watcher\n  address: 192.168.77.2/24\n' +
    'upstream:\n  name: isp\n  address: 203.0.113.1/24\n  hosts:\n    lone: { address: 203.0.113.10, keys: [lone] }\n',
);
const labDir = labStateDir(name);
const children: ChildProcess[] = [];

function sleeper(): ChildProcess {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** Starts `lab up --tether PID` and resolves once the machine is powered on (its QEMU started), with the lab's state. */
async function upUntilPoweredOn(tether: number): Promise<{ up: ChildProcess; output: () => string; state: LabState }> {
  const up = spawn(process.execPath, [BIN, 'lab', 'up', runbook, '--tether', String(tether)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(up);
  let text = '';
  up.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  up.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await until(
    () => /lone powered on/.test(text) && qemuRunning(),
    180_000,
    () => `lab up said:\n${text}`,
  );
  const state = JSON.parse(readFileSync(path.join(labDir, 'lab.json'), 'utf8')) as LabState;
  return { up, output: () => text, state };
}

function processesIn(folder: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((line) => line.includes(`${folder}/`) && !line.includes('ps -eo'));
}

function qemuRunning(): boolean {
  return processesIn(labDir).some((line) => line.includes('qemu-system-x86_64'));
}

function linkExists(link: string): boolean {
  return spawnSync('ip', ['link', 'show', link], { stdio: 'ignore' }).status === 0;
}

function namespaceExists(namespace: string): boolean {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .some((line) => line.split(' ')[0] === namespace);
}

async function until(condition: () => boolean, timeoutMs: number, why: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s: ${why()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function everythingGone(state: LabState): boolean {
  return (
    !existsSync(labDir) &&
    processesIn(labDir).length === 0 &&
    !linkExists(state.bridge!) &&
    !namespaceExists(state.observer!.namespace) &&
    !linkExists(state.upstream!.bridge) &&
    !namespaceExists(state.upstream!.namespace)
  );
}

function leftovers(state: LabState): string {
  return JSON.stringify({
    folder: existsSync(labDir),
    processes: processesIn(labDir),
    bridge: linkExists(state.bridge!),
    namespace: namespaceExists(state.observer!.namespace),
    upstream: [linkExists(state.upstream!.bridge), namespaceExists(state.upstream!.namespace)],
    log: existsSync(`${labDir}.tether.log`) ? readFileSync(`${labDir}.tether.log`, 'utf8') : '(no tether log)',
  });
}

describe('a lab tied to a process', () => {
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    spawnSync(process.execPath, [BIN, 'lab', 'down', runbook], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${labDir}.tether.log`, { force: true });
    rmSync(`${labDir}.failed`, { recursive: true, force: true });
  });

  it('goes down by itself when that process and lab up are killed while the guest boots', async () => {
    const tether = sleeper();
    const { up, state } = await upUntilPoweredOn(tether.pid!);
    expect(state.tether?.pid).toBe(tether.pid);
    expect(linkExists(state.bridge!)).toBe(true);
    expect(namespaceExists(state.observer!.namespace)).toBe(true);
    expect([linkExists(state.upstream!.bridge), namespaceExists(state.upstream!.namespace)]).toEqual([true, true]);

    up.kill('SIGKILL');
    tether.kill('SIGKILL');
    await until(
      () => everythingGone(state),
      60_000,
      () => leftovers(state),
    );
    expect(readFileSync(`${labDir}.tether.log`, 'utf8')).toMatch(new RegExp(`process ${tether.pid} ended: taking the lab down`));
  });

  it('is taken down by the next lab up when its watcher died too; an ordinary lab down ends the watcher', async () => {
    const first = sleeper();
    const { up } = await upUntilPoweredOn(first.pid!);
    // Everything tied to the lab dies at once, the watcher included (a killed process group).
    const watcher = processesIn(labDir).find((line) => line.includes(`${labDir}/tether`));
    expect(watcher).toBeDefined();
    process.kill(Number(watcher!.trim().split(/\s+/)[0]), 'SIGKILL');
    up.kill('SIGKILL');
    first.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(qemuRunning()).toBe(true);

    const second = sleeper();
    const again = await upUntilPoweredOn(second.pid!);
    expect(again.output()).toMatch(new RegExp(`the lab tied to process ${first.pid} is still up though that process has ended: taking it down first`));
    expect(again.state.tether?.pid).toBe(second.pid);
    again.up.kill('SIGKILL');

    const down = spawnSync(process.execPath, [BIN, 'lab', 'down', runbook], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(down.stdout).toMatch(/is down\./);
    await until(
      () => everythingGone(again.state),
      15_000,
      () => leftovers(again.state),
    );
    // The tethered process lives on; the lab is gone and so is its watcher.
    expect(second.exitCode).toBeNull();
  });

  it('leaves no bridge and no namespace behind when lab up fails half way', () => {
    // The provider side's card name is taken (as by a card of a lab just taken down that the
    // kernel had not let go of yet): lab up fails after the observer's namespace is made.
    const id = createHash('sha256').update(labDir).digest('hex').slice(0, 6);
    const taken = `nsl-${id}-u`;
    expect(spawnSync('ip', ['link', 'add', taken, 'type', 'bridge']).status).toBe(0);
    try {
      const up = spawnSync(process.execPath, [BIN, 'lab', 'up', runbook], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
      expect(up.status).not.toBe(0);
      expect(up.stdout + up.stderr).toMatch(new RegExp(`ip link add ${taken} .*File exists`));
    } finally {
      spawnSync('ip', ['link', 'delete', taken]);
    }
    expect({
      folder: existsSync(labDir),
      bridge: linkExists(`nsl-${id}`),
      observer: namespaceExists(`nsl-${id}-watcher`),
      observerCard: linkExists(`nsl-${id}-o`),
      upstream: namespaceExists(`nsl-${id}-isp`),
      upstreamBridge: linkExists(`nsl-${id}-w`),
    }).toEqual({ folder: false, bridge: false, observer: false, observerCard: false, upstream: false, upstreamBridge: false });
  });
});
