// The scripts run here by the real /bin/sh, with a temporary HOME: no SSH needed to show
// that a detached command survives, is followed from any offset, and reports its status.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOST_RESTARTED, releaseScript, stopScript } from './detached-scripts.js';
import { VALUE_FUNCTIONS } from './host-shell.js';
import { reportOf, runAttach, spawnAttach, startDetachedHere } from '../../test/support/attach-script.js';
import { scratchFolders } from '../../test/support/scratch-folder.js';

/** A temporary folder, removed after the tests (with what the scripts left in it). */
const scratchFolder = scratchFolders();

function shellEnv(extraPath?: string, onlyPath?: string) {
  const home = scratchFolder('ns-detached-');
  const PATH = onlyPath ?? (extraPath ? `${extraPath}:${process.env['PATH']}` : process.env['PATH']);
  return { ...process.env, HOME: home, XDG_STATE_HOME: '', PATH };
}

function sh(script: string, env: NodeJS.ProcessEnv): string {
  return execFileSync('/bin/sh', ['-c', script], { env, encoding: 'utf8' });
}

/** What runDetached does: start (or find started) and follow from the offsets, in one script. */
async function attach(runId: string, command: string | undefined, offsets: { out: number; err: number }, env: NodeJS.ProcessEnv) {
  const { out, err, code, start } = await runAttach({ runId, ...(command !== undefined ? { command } : {}), offsets }, env);
  if (command !== undefined && start) expect(start.get('state')).toMatch(/^(new|started)$/);
  return { out, err, code };
}

async function collect(runId: string, env: NodeJS.ProcessEnv) {
  const report = await reportOf(runId, env);
  if (!report) throw new Error('the attach script printed no report');
  return report;
}

const withoutGnuTail = () => {
  const bin = scratchFolder('ns-bin-');
  writeFileSync(path.join(bin, 'tail'), '#!/bin/sh\n[ "$1" = --version ] && exit 1\nexec /usr/bin/tail "$@"\n');
  chmodSync(path.join(bin, 'tail'), 0o755);
  return bin;
};

/** A PATH of everything in /usr/bin and /bin but flock, as on a host without util-linux's. */
const withoutFlock = () => {
  const bin = scratchFolder('ns-noflock-');
  for (const dir of ['/usr/bin', '/bin']) {
    for (const name of readdirSync(dir)) {
      if (name !== 'flock' && !existsSync(path.join(bin, name))) symlinkSync(path.join(dir, name), path.join(bin, name));
    }
  }
  return bin;
};

const folderOf = (env: NodeJS.ProcessEnv, runId: string) => path.join(env['HOME']!, '.local/state/nightshift/runs', runId);

describe.each([
  ['GNU tail', undefined, undefined],
  ['polling', withoutGnuTail(), undefined],
  ['without flock', undefined, withoutFlock()],
])('detached run scripts (%s)', (_, extraPath, onlyPath) => {
  const command = `for i in 1 2 3 4 5; do echo "line $i"; sleep 0.1; done; echo "it's done" >&2; exit 7`;

  it('starts once and follows both streams to the end; attaching again goes on from the offsets', async () => {
    const env = shellEnv(extraPath, onlyPath);
    const first = await attach('s1/step.1', command, { out: 0, err: 0 }, env);
    expect(first).toEqual({ out: 'line 1\nline 2\nline 3\nline 4\nline 5\n', err: "it's done\n", code: 0 });
    // As after a drop: the same run, asked again from where the bytes stopped. Nothing runs twice.
    const again = await attach('s1/step.1', command, { out: 7, err: 5 }, env);
    expect(again).toEqual({ out: 'line 2\nline 3\nline 4\nline 5\n', err: 'done\n', code: 0 });
    expect(sh('cat "$HOME"/.local/state/nightshift/runs/s1/step.1/out | wc -l', env).trim()).toBe('5');

    expect((await collect('s1/step.1', env)).get('exit')).toBe('7');
    expect((await collect('s1/step.1', env)).get('exit')).toBe('7');
  });

  it('a run whose status was collected is attached again to the same output and status, never run twice', async () => {
    const env = shellEnv(extraPath, onlyPath);
    const marker = path.join(env.HOME, 'ran');
    const once = `echo x >> '${marker}'; echo out; exit 5`;
    const first = await attach('s4/step.1', once, { out: 0, err: 0 }, env);
    expect(first).toEqual({ out: 'out\n', err: '', code: 0 });
    expect((await collect('s4/step.1', env)).get('exit')).toBe('5');
    // The answer to the collect was lost: the whole run is asked for again.
    expect(await attach('s4/step.1', once, { out: 0, err: 0 }, env)).toEqual(first);
    expect((await collect('s4/step.1', env)).get('exit')).toBe('5');
    expect(sh(`cat '${marker}'`, env)).toBe('x\n');

    // Released once the result is recorded: the output goes, and a follow that comes anyway fails.
    sh(releaseScript('s4/step.1'), env);
    expect(existsSync(path.join(folderOf(env, 's4/step.1'), 'out'))).toBe(false);
    expect((await attach('s4/step.1', once, { out: 0, err: 0 }, env)).code).toBe(94);
    expect(sh(`cat '${marker}'`, env)).toBe('x\n');
  });

  it('survives the death of whoever started it', async () => {
    const env = shellEnv(extraPath, onlyPath);
    // Whoever started it (and followed it) is killed with its whole group, as a dropped link kills its channel.
    const starter = spawnAttach({ runId: 's3/step.1', command: 'sleep 1; echo survived' }, env);
    await starter.begun;
    await new Promise((resolve) => setTimeout(resolve, 400));
    starter.cut();
    expect((await starter.attached).code).not.toBe(0);
    const later = await attach('s3/step.1', 'never started twice', { out: 0, err: 0 }, env);
    expect(later.out).toBe('survived\n');
    expect((await collect('s3/step.1', env)).get('exit')).toBe('0');
  });

  it('stop sends TERM to the whole group and the status says so', async () => {
    const env = shellEnv(extraPath, onlyPath);
    const following = attach('s2/step.1', 'sleep 30 & sleep 30; echo never', { out: 0, err: 0 }, env);
    await new Promise((resolve) => setTimeout(resolve, 300));
    sh(stopScript('s2/step.1'), env);
    expect((await following).out).toBe('');
    expect((await collect('s2/step.1', env)).get('exit')).toBe('143');
    // Still running (zombies left to an init that does not reap do not count).
    const running = sh(`for p in $(pgrep -f 'sleep 3[0]'); do [ "$(cut -d' ' -f3 /proc/$p/stat)" = Z ] || echo $p; done`, env);
    expect(running.trim()).toBe('');
  });

  it('the follow ends once the status is written, though the wrapper lingers as a zombie its init has not reaped', async () => {
    const env = shellEnv(extraPath, onlyPath);
    const runId = 's9/step.1';
    // A zombie: the child of a process that never reaps (as with some containers' init, or a slow one).
    const holder = spawn('/bin/sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 20']);
    try {
      const zombie = await new Promise<string>((resolve) => holder.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(readFileSync(`/proc/${zombie}/stat`, 'utf8').split(' ')[2]).toBe('Z');
      const folder = folderOf(env, runId);
      sh(`mkdir -p '${folder}/started' && echo ${zombie} > '${folder}/pid' && echo out > '${folder}/out' && : > '${folder}/err'`, env);
      const startedAt = performance.now();
      const following = attach(runId, undefined, { out: 0, err: 0 }, env);
      await new Promise((resolve) => setTimeout(resolve, 300));
      sh(`echo more >> '${folder}/out' && echo 0 > '${folder}/exit'`, env);
      expect(await following).toEqual({ out: 'out\nmore\n', err: '', code: 0 });
      expect(performance.now() - startedAt).toBeLessThan(3000);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  // Only with flock: without it the follow can only poll the pid, which a zombie that is
  // never reaped keeps for ever (the wrapper killed -9 also wrote no status to end it).
  it.skipIf(onlyPath !== undefined)(
    'the follow ends once the wrapper is gone, killed -9 before it wrote a status, as a zombie its init never reaps',
    async () => {
      const env = shellEnv(extraPath, onlyPath);
      const runId = 's11/step.1';
      const folder = folderOf(env, runId);
      sh(`mkdir -p '${folder}/started' && echo out > '${folder}/out' && : > '${folder}/err' && : > '${folder}/lock'`, env);
      // The wrapper as it runs, holding the lock; its parent, like such an init, never reaps it.
      const holder = spawn('/bin/sh', ['-c', `( exec 9<'${folder}/lock'; flock 9; exec sleep 20 ) & echo $!; exec sleep 20`]);
      try {
        const wrapper = await new Promise<string>((resolve) => holder.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
        await new Promise((resolve) => setTimeout(resolve, 300));
        sh(`echo ${wrapper} > '${folder}/pid'`, env);
        const following = attach(runId, undefined, { out: 0, err: 0 }, env);
        await new Promise((resolve) => setTimeout(resolve, 300));
        process.kill(Number(wrapper), 'SIGKILL');
        const killedAt = performance.now();
        expect(await following).toEqual({ out: 'out\n', err: '', code: 0 });
        expect(performance.now() - killedAt).toBeLessThan(3000);
        expect(readFileSync(`/proc/${wrapper}/stat`, 'utf8').split(' ')[2]).toBe('Z');
        expect((await collect(runId, env)).get('exit')).toBeUndefined();
      } finally {
        holder.kill('SIGKILL');
      }
    },
  );

  it('the follow ends soon after the status is written, every time', async () => {
    const env = shellEnv(extraPath, onlyPath);
    for (let i = 0; i < 5; i++) {
      const runId = `s12/step.${i}`;
      await attach(runId, 'echo hi; sleep 0.2; echo bye', { out: 0, err: 0 }, env);
      const ended = Date.now();
      const written = statSync(path.join(folderOf(env, runId), 'exit')).mtimeMs;
      // Nothing the wrapper leaves behind for a moment (its sinks' timer) may keep the follow going.
      expect(ended - written).toBeLessThan(2000);
    }
  });

  it('a command that leaves a child holding its output open ends the follow all the same, soon after it ends', async () => {
    const env = shellEnv(extraPath, onlyPath);
    const startedAt = performance.now();
    const child = path.join(env.HOME, 'child');
    const followed = await attach('s10/step.1', `sleep 20 & echo $! > '${child}'; echo left`, { out: 0, err: 0 }, env);
    try {
      expect(followed).toEqual({ out: 'left\n', err: '', code: 0 });
      expect(performance.now() - startedAt).toBeLessThan(10_000);
      expect((await collect('s10/step.1', env)).get('exit')).toBe('0');
    } finally {
      if (existsSync(child)) process.kill(Number(readFileSync(child, 'utf8')), 'SIGKILL');
    }
  });

  it('a follow never starts the command: without a start there is nothing to follow', async () => {
    const env = shellEnv(extraPath, onlyPath);
    expect(await runAttach({ runId: 's5/step.1' }, env)).toMatchObject({ code: 96, report: null });
    expect(existsSync(folderOf(env, 's5/step.1'))).toBe(false);
  });

  it('after a restart of the host the command is not followed: what it wrote is given, and the earlier boot is named', async () => {
    const env = shellEnv(extraPath, onlyPath);
    const runId = 's6/step.1';
    const marker = path.join(env.HOME, 'starts');
    await startDetachedHere({ runId, command: `echo start >> '${marker}'; echo before; sleep 30; echo after` }, env);
    const folder = folderOf(env, runId);
    expect(readFileSync(path.join(folder, 'boot'), 'utf8').trim()).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    // What a fresh boot looks like to the scripts: another boot id recorded, the command gone.
    // The wrapper's pid is left alive here, as a pid reused after the boot would be.
    await new Promise((resolve) => setTimeout(resolve, 300));
    writeFileSync(path.join(folder, 'boot'), '00000000-0000-0000-0000-000000000000\n');
    const pid = Number(readFileSync(path.join(folder, 'pid'), 'utf8').trim());
    try {
      const started = Date.now();
      const followed = await runAttach({ runId }, env);
      expect(followed).toMatchObject({ out: 'before\n', err: '', code: HOST_RESTARTED });
      expect(Date.now() - started).toBeLessThan(5000);
      const report = followed.report!;
      expect(report.get('exit')).toBeUndefined();
      expect(report.get('boot')).toBe('00000000-0000-0000-0000-000000000000');
      // The old pid is not signalled either.
      sh(stopScript(runId), env);
      expect(() => process.kill(pid, 0)).not.toThrow();
      // And starting again finds it started: never a second run.
      expect((await runAttach({ runId, command: 'echo second' }, env)).start?.get('state')).toBe('started');
      expect(readFileSync(marker, 'utf8')).toBe('start\n');
    } finally {
      process.kill(-pid, 'SIGKILL');
    }
  });
});

describe('following with GNU tail', () => {
  // GNU tail looks at the watched pid only every --sleep-interval, or when a file it follows
  // changes. Stretched to a minute here, a follow that waited for that look would take it.
  const slowLookingTail = () => {
    const bin = scratchFolder('ns-slowtail-');
    writeFileSync(
      path.join(bin, 'tail'),
      '#!/bin/sh\nfor a do shift; case $a in --sleep-interval=*) a=--sleep-interval=60 ;; esac; set -- "$@" "$a"; done\nexec /usr/bin/tail "$@"\n',
    );
    chmodSync(path.join(bin, 'tail'), 0o755);
    return bin;
  };

  it("ends when the command has, not at tail's next look at the watcher, with all of both streams", { timeout: 90_000 }, async () => {
    const env = shellEnv(slowLookingTail());
    for (let i = 0; i < 3; i++) {
      const startedAt = performance.now();
      const followed = await attach(`s13/step.${i}`, 'echo hi; sleep 0.3; echo bye; printf last >&2', { out: 0, err: 0 }, env);
      expect(followed).toEqual({ out: 'hi\nbye\n', err: 'last', code: 0 });
      expect(performance.now() - startedAt).toBeLessThan(20_000);
    }
  });
});

describe('where the run folder goes', () => {
  it('the runbook run_dir comes first, taken literally however hostile its name', async () => {
    const env = shellEnv();
    const runDir = path.join(env.HOME, `it's $(touch pwned) "here"`);
    const report = (await runAttach({ runId: 's7/step.1', command: 'echo hi', runDir }, env)).start;
    expect(report?.get('dir')).toBe(path.join(runDir, 'runs/s7/step.1'));
    expect(existsSync(path.join(env.HOME, 'pwned'))).toBe(false);
    expect(existsSync(path.join(env.HOME, '.local'))).toBe(false);
  });

  it('passes over a folder it cannot write, saying why, and every later script finds the run', async () => {
    const env = shellEnv();
    const blocker = path.join(env.HOME, 'a-file');
    writeFileSync(blocker, '');
    const runDir = path.join(blocker, 'below');
    const report = await startDetachedHere({ runId: 's8/step.1', command: 'echo fell back; exit 3', runDir }, env);
    expect(report?.get('state')).toBe('new');
    expect(report?.get('dir')).toBe(folderOf(env, 's8/step.1'));
    expect(report?.all('skipped')).toEqual([expect.stringMatching(new RegExp(`^${runDir}: mkdir: .*Not a directory\\s*$`))]);
    const followed = await runAttach({ runId: 's8/step.1', runDir }, env);
    expect(followed).toMatchObject({ out: 'fell back\n', err: '', code: 0 });
    expect(followed.report?.get('exit')).toBe('3');
  });

  it('trusts no shared folder of another owner or a symbolic link', async () => {
    const env = shellEnv();
    const shared = scratchFolder('ns-shared-');
    const elsewhere = scratchFolder('ns-elsewhere-');
    const link = path.join(shared, 'link');
    execFileSync('ln', ['-s', elsewhere, link]);
    const report = (await runAttach({ runId: 's9/step.1', command: 'echo hi', runDir: link }, env)).start;
    expect(report?.all('skipped')).toEqual([`${link}: it belongs to another user or is a symbolic link`]);
    expect(report?.get('dir')).toBe(folderOf(env, 's9/step.1'));
  });
});

describe('the start', () => {
  it('knows the wrapper holds its lock when its pid pipe closes, without polling for the pid file', async () => {
    const bin = scratchFolder('ns-sleeps-');
    const calls = path.join(bin, 'calls');
    writeFileSync(path.join(bin, 'sleep'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec /bin/sleep "$@"\n`);
    chmodSync(path.join(bin, 'sleep'), 0o755);
    const env = shellEnv(bin);
    for (const step of [1, 2, 3]) {
      const attached = await runAttach({ runId: `s10/step.${step}`, command: `echo step ${step}` }, env);
      expect(attached).toMatchObject({ out: `step ${step}\n`, code: 0 });
      expect(attached.start?.get('state')).toBe('new');
    }
    // The wrapper may still time its sinks (sleep 3); the start never waits 0.1 s for a pid.
    const sleeps = existsSync(calls) ? readFileSync(calls, 'utf8').split('\n') : [];
    expect(sleeps).not.toContain('0.1');
  });

  it('claims a folder once: a second start with the files laid out but the claim taken finds it started', async () => {
    const env = shellEnv();
    const folder = folderOf(env, 's11/step.1');
    sh(
      `mkdir -p '${folder}' && : > '${folder}/started' && echo 1 > '${folder}/exit' && echo 999999 > '${folder}/pid' && : > '${folder}/out' && : > '${folder}/err'`,
      env,
    );
    const attached = await runAttach({ runId: 's11/step.1', command: 'echo must not run' }, env);
    expect(attached.start?.get('state')).toBe('started');
    expect(attached.out).toBe('');
    expect(attached.report?.get('exit')).toBe('1');
    expect(readdirSync(folder).sort()).toEqual(['err', 'exit', 'out', 'pid', 'started']);
  });
});

describe('values written once, in place', () => {
  it('an exit file still empty (its writer cut short) is no status; once written it is', () => {
    const env = shellEnv();
    const folder = scratchFolder('ns-values-');
    const values = (script: string) => sh(`d='${folder}'\n${VALUE_FUNCTIONS}\n${script}`, env);
    sh(`: > '${folder}/exit'`, env);
    expect(values('if has exit; then echo found; else echo none; fi')).toBe('none\n');
    expect(values('put_once exit 130; has exit && getv exit && echo "$v"')).toBe('130\n');
  });
});
