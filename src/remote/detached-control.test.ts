// The scripts that look at a detached run and stop it, run here by the real /bin/sh with a
// temporary HOME, on runs started by the real start script.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { folderUnreadable, readRunState, runStateScript, stopRunScript } from './detached-control.js';
import { isAlive } from '../store/lock.js';
import { startDetachedHere } from '../../test/support/attach-script.js';
import { waitFor } from '../../test/support/wait-for.js';

function shellEnv() {
  const home = mkdtempSync(path.join(tmpdir(), 'ns-control-'));
  return { ...process.env, HOME: home, XDG_STATE_HOME: '' };
}

const folderOf = (env: NodeJS.ProcessEnv, runId: string) => path.join(env['HOME']!, '.local/state/nightshift/runs', runId);

function sh(script: string, env: NodeJS.ProcessEnv): string {
  return execFileSync('/bin/sh', ['-c', script], { env, encoding: 'utf8' });
}

// A wrapper that ended may stay a zombie for a while (its parent is whoever reaps orphans here).
const alive = (pid: number) => isAlive(pid);

describe('looking at a detached run, and stopping it', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  /** Starts `command` detached as nightshift would and returns once its wrapper wrote its pid. */
  async function started(env: NodeJS.ProcessEnv, runId: string, command: string): Promise<number> {
    expect((await startDetachedHere({ runId, command }, env))?.get('state')).toBe('new');
    const pidFile = path.join(folderOf(env, runId), 'pid');
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', { what: 'the pid file', timeoutMs: 5000 });
    return Number(readFileSync(pidFile, 'utf8'));
  }

  it('a run that never reached the host', () => {
    const env = shellEnv();
    expect(readRunState(sh(runStateScript('s/step.1'), env))).toEqual({ state: 'never-started' });
  });

  it('a running command: its wrapper by its command line; the stop TERMs its group, and the wrapper records the status', async () => {
    const env = shellEnv();
    const marker = path.join(env['HOME'], 'still-here');
    const pid = await started(env, 's/step.1', `while :; do touch ${marker}; sleep 0.1; done`);
    expect(readRunState(sh(runStateScript('s/step.1'), env))).toEqual({ state: 'running', pid });
    expect(readRunState(sh(stopRunScript('s/step.1'), env))).toEqual({ state: 'running', pid });
    await waitFor(() => existsSync(path.join(folderOf(env, 's/step.1'), 'exit')), { what: 'the exit status', timeoutMs: 5000 });
    expect(readRunState(sh(runStateScript('s/step.1'), env))).toEqual({ state: 'ended', exitCode: 143 });
    expect(alive(pid)).toBe(false);
  });

  it('a command that ended with its status', async () => {
    const env = shellEnv();
    await started(env, 's/step.2', 'exit 3');
    await waitFor(() => existsSync(path.join(folderOf(env, 's/step.2'), 'exit')), { what: 'the exit status', timeoutMs: 5000 });
    expect(readRunState(sh(runStateScript('s/step.2'), env))).toEqual({ state: 'ended', exitCode: 3 });
  });

  it('a pid now used by another process is not the run: ended without a status, and the stop leaves that process alone', async () => {
    const env = shellEnv();
    const stranger = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    children.push(stranger);
    const folder = folderOf(env, 's/step.3');
    mkdirSync(path.join(folder, 'started'), { recursive: true });
    writeFileSync(path.join(folder, 'pid'), `${stranger.pid}\n`);
    expect(readRunState(sh(runStateScript('s/step.3'), env))).toEqual({ state: 'ended', exitCode: null });
    expect(readRunState(sh(stopRunScript('s/step.3'), env))).toEqual({ state: 'ended', exitCode: null });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(alive(stranger.pid!)).toBe(true);
  });

  it('a folder without a pid is in an unknown state, never taken for ended', () => {
    const env = shellEnv();
    mkdirSync(path.join(folderOf(env, 's/step.4'), 'started'), { recursive: true });
    expect(readRunState(sh(runStateScript('s/step.4'), env))).toEqual({ state: 'unknown', why: 'its run folder has no pid' });
  });

  it('a hostile error from the host is reported quoted, its control characters escaped', () => {
    const text = folderUnreadable('dolphin', '\u001b[2J\u001b]0;owned\u0007sh: cannot open\n', 2);
    expect(text).toBe('Could not read the run folder on dolphin: it said "\\u001b[2J\\u001b]0;owned\\u0007sh: cannot open".');
    expect(text).not.toMatch(/[\u0000-\u001f]/);
  });

  it('a hostile answer is reported quoted, its control characters escaped', () => {
    const found = readRunState('\u001b]0;owned\u0007\u001b[2Jstate=maybe\n');
    expect(found.state).toBe('unknown');
    expect(JSON.stringify(found)).not.toContain('\u001b');
    expect((found as { why: string }).why).not.toMatch(/[\u0000-\u001f]/);
  });
});
