// Logins that would hold or poison the helper channel, against the built binary in plain
// mode, with the OpenSSH client: what ends up in the journal is what the test reads.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HelperFile } from '../../src/store/helper-file.js';
import { readJournal } from '../../src/store/journal.js';
import { converse, freshStateDir, waitForLine } from '../support/cli.js';
import { helperSshOptions } from '../support/helper-ssh.js';

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** OpenSSH without a terminal (its own session), the code typed by SSH_ASKPASS; resolves with the exit status and how long it ran. */
function sshWithCode(dir: string, args: string[], code: string): Promise<{ status: number | null; ms: number; stderr: string }> {
  const askpass = path.join(dir, 'askpass');
  writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$NS_CODE"\n', { mode: 0o755 });
  const started = Date.now();
  const child = spawn('ssh', args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', NS_CODE: code },
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  // Well past any bound: a connection left open is the failure being looked for.
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) =>
    child.once('close', (status) => {
      clearTimeout(killer);
      resolve({ status, ms: Date.now() - started, stderr });
    }),
  );
}

describe('logins that would hold or poison the helper channel', () => {
  it('ssh -N with a valid code is closed within the bound and journaled; hostile user names are journaled neutralized', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-hostile-plain-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const runbook = path.join(dir, 'knock.yaml');
    writeFileSync(runbook, 'name: Knock knock\nphases:\n  - name: wait\n    steps:\n      - checkpoint: Everyone has knocked\n');
    const stateDir = freshStateDir();
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const run = converse(['run', runbook, '--plain'], () => undefined, { NIGHTSHIFT_STATE_DIR: stateDir });
    cleanups.push(() => run.child.kill('SIGKILL'));
    await waitForLine(run, /Type yes to confirm/);
    const joinLine = run.lines.find((line) => line.startsWith('helpers join with:'))!;
    const [, port, code] = /ssh -p (\d+) sentinel@127\.0\.0\.1\) · code (\d{3}-\d{3}-\d{3})/.exec(joinLine)!;
    const sessionDir = path.join(stateDir, 'sessions', readdirSync(path.join(stateDir, 'sessions'))[0]!);
    const helper = JSON.parse(readFileSync(path.join(sessionDir, 'helper.json'), 'utf8')) as HelperFile;
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${helper.publicKey}\n`);
    const options = [...helperSshOptions(port!, knownHosts), '-o', 'BatchMode=no'];

    // The right code, and no terminal ever: the code is used up, the connection must not stay.
    const quiet = await sshWithCode(dir, ['-F', '/dev/null', ...options, '-N', 'sentinel@127.0.0.1'], code!);
    console.log(`ssh -N with a valid code was closed after ${quiet.ms} ms (bound: 10 s after the login)`);
    expect(quiet.status).toBe(255);
    expect(quiet.ms).toBeGreaterThanOrEqual(9000);
    expect(quiet.ms).toBeLessThan(20_000);

    // User names made to drive a terminal: OpenSSH takes them from a config file.
    const config = path.join(dir, 'hostile_config');
    writeFileSync(config, 'Host hostile\n  HostName 127.0.0.1\n  User "\x1b]0;pwned\x07\x1b[2Jevil\u009b31m\u0085x"\n');
    const hostile = await sshWithCode(dir, ['-F', config, ...options, 'hostile'], code!);
    expect(hostile.status).toBe(255);
    expect(hostile.stderr).toContain('has no user');

    run.child.stdin.write('yes\n');
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);

    const journalText = readFileSync(path.join(sessionDir, 'journal.jsonl'), 'utf8');
    // Neither raw (C1 controls pass JSON.stringify as they are) nor escaped (\u001b).
    expect(journalText).not.toMatch(RAW_CONTROL);
    expect(journalText).not.toMatch(/\\u00[0189][0-9a-f]|\\u007f/i);
    expect(run.lines.join('\n') + run.stderr()).not.toMatch(RAW_CONTROL);
    const refused = readJournal(path.join(sessionDir, 'journal.jsonl')).filter((entry) => entry.type === 'helper.refused');
    expect(refused.map((entry) => [entry['reason'], entry['username']])).toEqual([
      ['no-session', 'sentinel'],
      ['unknown-user', expect.stringContaining('evil')],
    ]);
  }, 60_000);
});
