// The scripts run here by the real /bin/sh, with a temporary HOME: no SSH needed to show
// that a detached command survives, is followed from any offset, and reports its status.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachScript, collectScript, releaseScript, stopScript } from './detached-scripts.js';
import { HostReport } from './host-shell.js';

function shellEnv(extraPath?: string) {
  const home = mkdtempSync(path.join(tmpdir(), 'ns-detached-'));
  return { ...process.env, HOME: home, XDG_STATE_HOME: '', PATH: extraPath ? `${extraPath}:${process.env['PATH']}` : process.env['PATH'] };
}

function sh(script: string, env: NodeJS.ProcessEnv): string {
  return execFileSync('/bin/sh', ['-c', script], { env, encoding: 'utf8' });
}

/** The exit status the collect script reports (its report must come to its end). */
function exitOf(runId: string, env: NodeJS.ProcessEnv): string | undefined {
  const report = HostReport.read(sh(collectScript(runId), env));
  if (!report) throw new Error('the collect script printed no end mark');
  return report.get('exit');
}

/** Runs a script to its end: its stdout, its stderr and its exit status. */
function attach(script: string, env: NodeJS.ProcessEnv): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { env });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ out, err, code }));
  });
}

const withoutGnuTail = () => {
  const bin = mkdtempSync(path.join(tmpdir(), 'ns-bin-'));
  writeFileSync(path.join(bin, 'tail'), '#!/bin/sh\n[ "$1" = --version ] && exit 1\nexec /usr/bin/tail "$@"\n');
  chmodSync(path.join(bin, 'tail'), 0o755);
  return bin;
};

describe.each([
  ['GNU tail', undefined],
  ['polling', withoutGnuTail()],
])('detached run scripts (%s)', (_, extraPath) => {
  const command = `for i in 1 2 3 4 5; do echo "line $i"; sleep 0.1; done; echo "it's done" >&2; exit 7`;

  it('starts once and follows both streams to the end; attaching again goes on from the offsets', async () => {
    const env = shellEnv(extraPath);
    const first = await attach(attachScript('s1/step.1', command, { out: 0, err: 0 }), env);
    expect(first).toEqual({ out: 'line 1\nline 2\nline 3\nline 4\nline 5\n', err: "it's done\n", code: 0 });
    // As after a drop: the same run, asked again from where the bytes stopped. Nothing runs twice.
    const again = await attach(attachScript('s1/step.1', command, { out: 7, err: 5 }), env);
    expect(again).toEqual({ out: 'line 2\nline 3\nline 4\nline 5\n', err: 'done\n', code: 0 });
    expect(sh('cat "$HOME"/.local/state/nightshift/runs/s1/step.1/out | wc -l', env).trim()).toBe('5');

    expect(exitOf('s1/step.1', env)).toBe('7');
    expect(exitOf('s1/step.1', env)).toBe('7');
  });

  it('a run whose status was collected is attached again to the same output and status, never run twice', async () => {
    const env = shellEnv(extraPath);
    const marker = path.join(env.HOME, 'ran');
    const once = `echo x >> '${marker}'; echo out; exit 5`;
    const first = await attach(attachScript('s4/step.1', once, { out: 0, err: 0 }), env);
    expect(first).toEqual({ out: 'out\n', err: '', code: 0 });
    expect(exitOf('s4/step.1', env)).toBe('5');
    // The answer to the collect was lost: the whole run is asked for again.
    expect(await attach(attachScript('s4/step.1', once, { out: 0, err: 0 }), env)).toEqual(first);
    expect(exitOf('s4/step.1', env)).toBe('5');
    expect(sh(`cat '${marker}'`, env)).toBe('x\n');

    // Released once the result is recorded: the output goes, and an attach that comes anyway fails.
    sh(releaseScript('s4/step.1'), env);
    const folder = path.join(env.HOME, '.local/state/nightshift/runs/s4/step.1');
    expect(existsSync(path.join(folder, 'out'))).toBe(false);
    expect((await attach(attachScript('s4/step.1', once, { out: 0, err: 0 }), env)).code).toBe(94);
    expect(sh(`cat '${marker}'`, env)).toBe('x\n');
  });

  it('survives the death of whoever started it', async () => {
    const env = shellEnv(extraPath);
    const script = attachScript('s3/step.1', 'sleep 1; echo survived', { out: 0, err: 0 });
    const starter = spawn('/bin/sh', ['-c', script], { env });
    await new Promise((resolve) => setTimeout(resolve, 400));
    starter.kill('SIGKILL');
    const later = await attach(attachScript('s3/step.1', 'never started twice', { out: 0, err: 0 }), env);
    expect(later.out).toBe('survived\n');
    expect(exitOf('s3/step.1', env)).toBe('0');
  });

  it('stop sends TERM to the whole group and the status says so', async () => {
    const env = shellEnv(extraPath);
    const following = attach(attachScript('s2/step.1', 'sleep 30 & sleep 30; echo never', { out: 0, err: 0 }), env);
    await new Promise((resolve) => setTimeout(resolve, 300));
    sh(stopScript('s2/step.1'), env);
    expect((await following).out).toBe('');
    expect(exitOf('s2/step.1', env)).toBe('143');
    // Still running (zombies left to an init that does not reap do not count).
    const running = sh(`for p in $(pgrep -f 'sleep 3[0]'); do [ "$(cut -d' ' -f3 /proc/$p/stat)" = Z ] || echo $p; done`, env);
    expect(running.trim()).toBe('');
  });

  it('the collect says when there is no run, and leaves the exit status out while it runs', async () => {
    const env = shellEnv(extraPath);
    expect(sh(collectScript('s5/step.1'), env)).toBe('state=gone\nend=ok\n');
    const following = attach(attachScript('s5/step.1', 'sleep 1', { out: 0, err: 0 }), env);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sh(collectScript('s5/step.1'), env)).toBe('state=found\nend=ok\n');
    await following;
    expect(exitOf('s5/step.1', env)).toBe('0');
  });
});
