// A detached step whose link cannot be restored (the host key changed under it), run by the
// built binary against the real sshd: its command goes on on the host, and nightshift never
// starts a second copy beside it. The upgrader follows it again (reattach), stops it, or
// retries once it is known to have ended; the same after a pause and resume, and full screen.
import { execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { endSessionHolders } from '../support/session-holders.js';
import { readJournal } from '../../src/store/journal.js';
import { clientFlags, BIN, converse, freshStateDir, ROOT, waitForLine, type Conversation } from '../support/cli.js';
import type { KeyPair } from '../support/ssh-keys.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';
import { waitFor } from '../support/wait-for.js';
import { isAlive } from '../../src/store/lock.js';

const LINES = 30;

describeWithSshd('a detached step whose link cannot be restored', () => {
  let sshd: Sshd;
  let relay: TcpRelay;
  let originalKey: KeyPair;
  let terminal: TmuxSession | undefined;

  beforeAll(async () => {
    sshd = await Sshd.start();
    relay = await TcpRelay.start(sshd.port);
    // The key the runs know; kept aside, since a change replaces its files.
    const keep = mkdtempSync(path.join(tmpdir(), 'ns-unsettled-key-'));
    const key = sshd.hostKey();
    originalKey = { ...key, privateKeyFile: path.join(keep, 'key'), publicKeyFile: path.join(keep, 'key.pub') };
    copyFileSync(key.privateKeyFile, originalKey.privateKeyFile);
    copyFileSync(key.publicKeyFile, originalKey.publicKeyFile);
  });
  const conversations: Conversation[] = [];
  /** Folders a test made: its runbook's, its state folder, the runs of its session on the host. */
  const folders: Array<() => string | undefined> = [];
  afterEach(async () => {
    terminal?.kill();
    terminal = undefined;
    for (const conversation of conversations.splice(0)) if (conversation.child.exitCode === null) conversation.child.kill('SIGKILL');
    for (const folder of folders.splice(0)) {
      const found = folder();
      if (!found) continue;
      await endSessionHolders(found);
      rmSync(found, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
    if (sshd.hostKey().fingerprint !== originalKey.fingerprint) await sshd.replaceHostKey(originalKey);
  });
  afterAll(async () => {
    await relay?.close();
    await sshd?.stop();
    rmSync(path.dirname(originalKey.privateKeyFile), { recursive: true, force: true });
  });

  /**
   * A runbook whose detached step marks each start on the host, prints 5 lines, waits for
   * `go`, then prints the rest; `on_fail: fallback`, which a lost link must not trigger.
   */
  function fixture() {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-unsettled-'));
    sshd.writeClientFiles(dir, 'target', { port: relay.port });
    const starts = path.join(dir, 'starts');
    const go = path.join(dir, 'go');
    const command =
      `echo started >> ${starts}; i=1; while [ $i -le ${LINES} ]; do echo "line $i"; ` +
      // It stops waiting once the test's folder is gone too: a failed test leaves nothing running.
      `if [ $i -eq 5 ]; then while [ ! -e ${go} ] && [ -d ${dir} ]; do sleep 0.1; done; fi; i=$((i+1)); sleep 0.05; done`;
    writeFileSync(
      path.join(dir, 'unsettled.yaml'),
      [
        'name: unsettled attempt',
        'hosts:',
        '  target: {}',
        'phases:',
        '  - name: copy',
        '    steps:',
        '      - id: copy',
        `        run: ${JSON.stringify(command)}`,
        '        host: target',
        '        on_fail: fallback',
        '      - id: after',
        '        run: echo after',
        '        host: target',
        'fallback:',
        '  - id: back',
        '    local: echo fell back',
        '',
      ].join('\n'),
    );
    const env = { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' };
    const args = [...clientFlags(dir)];
    const session = () => {
      const sessions = path.join(env.NIGHTSHIFT_STATE_DIR, 'sessions');
      return path.join(sessions, readdirSync(sessions)[0]!);
    };
    const hostRuns = () => {
      const sessions = path.join(env.NIGHTSHIFT_STATE_DIR, 'sessions');
      const [id] = existsSync(sessions) ? readdirSync(sessions) : [];
      return id ? path.join(homedir(), '.local/state/nightshift/runs', id) : undefined;
    };
    folders.push(
      hostRuns,
      () => dir,
      () => env.NIGHTSHIFT_STATE_DIR,
    );
    return {
      dir,
      env,
      starts: () => (existsSync(starts) ? readFileSync(starts, 'utf8').split('\n').filter(Boolean).length : 0),
      letGo: () => writeFileSync(go, ''),
      run: (answer: (line: string) => string | undefined) => kept(converse(['run', '--plain', path.join(dir, 'unsettled.yaml'), ...args], answer, env)),
      resume: (answer: (line: string) => string | undefined) => kept(converse(['resume', '--plain'], answer, env)),
      fullScreen: () => [process.execPath, BIN, 'run', path.join(dir, 'unsettled.yaml'), ...args],
      session,
      journal: () => readJournal(path.join(session(), 'journal.jsonl')),
      runFolder: () => path.join(homedir(), '.local/state/nightshift/runs', path.basename(session()), 'copy.1'),
    };
  }

  /** Killed after the test if it has not ended. */
  function kept(conversation: Conversation): Conversation {
    conversations.push(conversation);
    return conversation;
  }

  /** The host gets a new key, then the link is cut, so no new login gets through. */
  async function changeKeyAndCut(): Promise<void> {
    await sshd.replaceHostKey();
    relay.cut();
  }

  /** Once the first attempt's line 5 is out (only then): changeKeyAndCut. */
  function cutAfterLine5(): (line: string) => void {
    let done = false;
    return (line) => {
      if (done || line !== 'target| line 5') return;
      done = true;
      void changeKeyAndCut();
    };
  }

  const PROMPT = /Answer reattach \(follow it again\) \| stop/;
  const printed = (run: Conversation) => run.lines.filter((line) => /^target\| line \d+$/.test(line)).map((line) => line.slice('target| '.length));
  const logLines = (session: string, name: string) =>
    readFileSync(path.join(session, 'output', name), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('line '));
  const all = Array.from({ length: LINES }, (_, index) => `line ${index + 1}`);

  it('retry is refused while the host cannot be reached and while the command runs; reattach follows it to its end, every line once', async () => {
    const fx = fixture();
    const answers: string[] = [];
    let prompts = 0;
    const cut = cutAfterLine5();
    const run = fx.run((line) => {
      cut(line);
      if (!PROMPT.test(line)) return undefined;
      prompts++;
      // 1: the host cannot be reached; 2: it can, and the command still runs; 3: follow it.
      const answer = prompts <= 2 ? 'retry' : 'reattach';
      answers.push(answer);
      if (prompts === 2) return undefined;
      if (prompts === 3) fx.letGo();
      return answer;
    });
    await waitForLine(
      run,
      /not accepted for 1\.1 .*attempt 1 may still be running on target, which cannot be reached to tell \(The host key of target/,
      60_000,
    );
    // The host takes the old key again: now it can be asked, and the command is still running.
    await sshd.replaceHostKey(originalKey);
    run.child.stdin.write('retry\n');
    await waitForLine(run, /not accepted for 1\.1 .*attempt 1 is still running on target \(pid \d+\): reattach to follow it, or stop it first/, 30_000);
    const code = await run.exited;
    const text = run.lines.join('\n');
    expect(code, text + run.stderr()).toBe(0);
    expect(answers).toEqual(['retry', 'retry', 'reattach']);
    expect(fx.starts()).toBe(1);
    expect(printed(run)).toEqual(all);
    expect(logLines(fx.session(), 'copy.1.log')).toEqual(all);
    expect(existsSync(path.join(fx.session(), 'output', 'copy.2.log'))).toBe(false);
    expect(text).toMatch(/attempt 1 of 1\.1 .* on target is still running \(pid \d+\)/);
    expect(text).not.toMatch(/FALLBACK|\(attempt 2\)/);

    const entries = fx.journal();
    expect(entries.filter((entry) => entry.type === 'step.started' && entry['stepId'] === 'copy')).toHaveLength(1);
    expect(entries).toContainEqual(expect.objectContaining({ type: 'attempt.checked', stepId: 'copy', attempt: 1, state: 'unreachable' }));
    expect(entries).toContainEqual(expect.objectContaining({ type: 'attempt.checked', stepId: 'copy', attempt: 1, state: 'running' }));
    expect(entries).toContainEqual(expect.objectContaining({ type: 'decision', stepId: 'copy', action: 'reattach', attempt: 1 }));
    expect(entries.map((entry) => entry.type)).not.toContain('fallback.started');
    expect(entries.filter((entry) => entry.type === 'step.finished' && entry['stepId'] === 'copy').map((entry) => entry['status'])).toEqual(['failed', 'done']);
  }, 90_000);

  it('stop, confirmed, TERMs it on the host; a retry after that starts attempt 2, the only second run', async () => {
    const fx = fixture();
    let prompts = 0;
    let stopped = false;
    const cut = cutAfterLine5();
    const run = fx.run((line) => {
      cut(line);
      if (/Stop attempt 1 of 1\.1 .* on target\? TERM goes to its process group/.test(line)) return 'yes';
      if (PROMPT.test(line)) {
        prompts++;
        return stopped ? 'stop' : undefined;
      }
      return undefined;
    });
    await waitForLine(run, PROMPT, 60_000);
    const pid = Number(readFileSync(path.join(fx.runFolder(), 'pid'), 'utf8'));
    expect(() => process.kill(pid, 0)).not.toThrow();
    await sshd.replaceHostKey(originalKey);
    stopped = true;
    run.child.stdin.write('stop\n');
    expect(prompts).toBe(1);
    await waitForLine(run, /attempt 1 of 1\.1 .* on target ended with exit status 143/, 30_000);
    // On the host: the command is gone and its folder says how it ended.
    expect(readFileSync(path.join(fx.runFolder(), 'exit'), 'utf8').trim()).toBe('143');
    // Its wrapper writes the status as it ends; give it a moment to be gone (a zombie counts as gone).
    await waitFor(() => !isAlive(pid), { what: `the command ${pid} to be gone`, timeoutMs: 5000, intervalMs: 50 });
    expect(isAlive(pid)).toBe(false);
    expect(execSync(`pgrep -f '[e]cho started >> ${fx.dir}/starts' || true`, { encoding: 'utf8' }).trim()).toBe('');
    // Stopped: the question is the plain one again, and a retry starts attempt 2.
    await waitForLine(run, /Answer retry \| skip REASON/, 10_000);
    fx.letGo();
    run.child.stdin.write('retry\n');
    const code = await run.exited;
    const text = run.lines.join('\n');
    expect(code, text + run.stderr()).toBe(0);
    expect(fx.starts()).toBe(2);
    expect(text).toMatch(/decision on 1\.1 .* by .*: stop attempt 1/);
    expect(text).toMatch(/> 1\.1 .*\(attempt 2\)/);
    expect(logLines(fx.session(), 'copy.2.log')).toEqual(all);
    expect(fx.journal().map((entry) => entry.type)).not.toContain('fallback.started');
  }, 90_000);

  it('after a pause at the question, resume asks the same, and reattach follows the same attempt on from its log', async () => {
    const fx = fixture();
    const cut = cutAfterLine5();
    const first = fx.run((line) => {
      cut(line);
      return PROMPT.test(line) ? 'pause' : undefined;
    });
    expect(await first.exited, first.lines.join('\n') + first.stderr()).toBe(4);
    await sshd.replaceHostKey(originalKey);
    fx.letGo();
    const second = fx.resume((line) => (PROMPT.test(line) ? 'reattach' : undefined));
    const code = await second.exited;
    const text = second.lines.join('\n');
    expect(code, text + second.stderr()).toBe(0);
    expect(text).toMatch(/Attempt 1 may still be running on target/);
    expect(fx.starts()).toBe(1);
    // The resumed run prints only what came after the first one's lines; the log holds each once.
    expect([...printed(first), ...printed(second)]).toEqual(all);
    expect(logLines(fx.session(), 'copy.1.log')).toEqual(all);
    expect(text).not.toMatch(/\(attempt 2\)/);
  }, 90_000);

  it('paused while the command runs, resumed to a host whose key changed: the upgrader is asked, not the fallback', async () => {
    const fx = fixture();
    const first = fx.run(() => undefined);
    await waitForLine(first, /^target\| line 5$/, 30_000);
    first.child.kill('SIGTERM');
    expect(await first.exited, first.lines.join('\n') + first.stderr()).toBe(4);
    await sshd.replaceHostKey();
    let prompts = 0;
    const second = fx.resume((line) => {
      if (!PROMPT.test(line)) return undefined;
      prompts++;
      if (prompts > 1) return undefined;
      // The host takes its old key again; then the same attempt is followed to its end.
      void sshd.replaceHostKey(originalKey).then(() => {
        fx.letGo();
        second.child.stdin.write('reattach\n');
      });
      return undefined;
    });
    const code = await second.exited;
    const text = second.lines.join('\n');
    expect(code, text + second.stderr()).toBe(0);
    expect(prompts).toBe(1);
    expect(text).toMatch(/FAILED 1\.1 .*The host key of target .* does not match/);
    expect(text).not.toMatch(/FALLBACK|\(attempt 2\)/);
    expect(fx.starts()).toBe(1);
    expect([...printed(first), ...printed(second)]).toEqual(all);
    expect(logLines(fx.session(), 'copy.1.log')).toEqual(all);
  }, 90_000);

  it.skipIf(!tmuxAvailable())(
    'full screen: the keys say what may be done; r is refused with the reason, x asks first and stops it',
    async () => {
      const fx = fixture();
      terminal = TmuxSession.start(fx.fullScreen(), { cwd: ROOT, cols: 200, rows: 40, env: fx.env });
      await terminal.waitFor(/line 5/, 30_000, 'the first lines');
      await changeKeyAndCut();
      const failed = await terminal.waitFor(/FAILED · 1\.1/, 60_000, 'the failed step');
      const flat = failed.replace(/[│\s]+/g, ' ');
      expect(flat).toContain('Attempt 1 may still be running on target: a new attempt starts only once it is known to have ended.');
      expect(flat).toContain('a attach to it again · x stop it (asks first) · r retry once it has ended');
      terminal.keys('r');
      const refused = await terminal.waitFor(/not accepted: attempt 1 may still be running/, 30_000, 'the refused retry');
      expect(refused.replace(/[│\s]+/g, ' ')).toContain('cannot be reached to tell');
      await sshd.replaceHostKey(originalKey);
      terminal.keys('x');
      const asked = await terminal.waitFor(/Stop attempt 1 of 1\.1/, 10_000, 'the stop question');
      expect(asked.replace(/[│\s]+/g, ' ')).toContain('TERM goes to its process group');
      terminal.keys('y');
      // Stopped: nothing may still run, so the keys are the plain ones again.
      const after = await terminal.waitFor(/│ r retry · s skip \(with a reason\)/, 30_000, 'the stopped attempt');
      expect(after.replace(/[│\s]+/g, ' '), after).toContain('then attempt 1 was stopped: it ended with');
      expect(readFileSync(path.join(fx.runFolder(), 'exit'), 'utf8').trim()).toBe('143');
      expect(fx.starts()).toBe(1);
      expect(fx.journal()).toContainEqual(expect.objectContaining({ type: 'decision', stepId: 'copy', action: 'stop', attempt: 1 }));
    },
    90_000,
  );
});
