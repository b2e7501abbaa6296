import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { converse, freshStateDir, waitForLine } from '../support/cli.js';
import { helperLoginOf, helperSshOptions, sshWithCode } from '../support/helper-ssh.js';

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

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
    const { port, code, knownHosts, sessionDir } = helperLoginOf(run.lines, stateDir, dir);
    const options = [...helperSshOptions(port, knownHosts), '-o', 'BatchMode=no'];

    // The right code, and no terminal ever: the code is used up, the connection must not stay.
    const quiet = await sshWithCode(dir, ['-F', '/dev/null', ...options, '-N', 'sentinel@127.0.0.1'], code);
    console.log(`ssh -N with a valid code was closed after ${quiet.ms} ms (bound: 10 s after the login)`);
    expect(quiet.status).toBe(255);
    expect(quiet.ms).toBeGreaterThanOrEqual(9000);
    expect(quiet.ms).toBeLessThan(20_000);

    // User names made to drive a terminal: OpenSSH takes them from a config file.
    const config = path.join(dir, 'hostile_config');
    writeFileSync(config, 'Host hostile\n  HostName 127.0.0.1\n  User "\x1b]0;pwned\x07\x1b[2Jevil\u009b31m\u0085x"\n');
    const hostile = await sshWithCode(dir, ['-F', config, ...options, 'hostile'], code);
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
