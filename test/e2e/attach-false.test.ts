// attach: false against the real sshd, run by the built binary in plain mode: the command
// runs in the foreground of its SSH channel (a child of sshd, no run folder on the host),
// its output arrives and its exit status is the step's. A detached step beside it, with the
// same command, shows the difference.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { clientFlags, converse, freshStateDir, typedAnswer } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

describeWithSshd('nightshift run --plain with an attach: false step', () => {
  let sshd: Sshd;
  let dir: string;

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-attach-false-'));
    sshd.writeClientFiles(dir, 'target');
    const tell = (status: number) => JSON.stringify(`echo "parent $(cat /proc/$PPID/comm)"; echo out-line; echo err-line >&2; exit ${status}`);
    writeFileSync(
      path.join(dir, 'foreground.yaml'),
      [
        'name: foreground',
        'hosts:',
        '  target: {}',
        'phases:',
        '  - name: both',
        '    steps:',
        '      - id: fg',
        `        run: ${tell(3)}`,
        '        host: target',
        '        attach: false',
        '      - id: bg',
        `        run: ${tell(0)}`,
        '        host: target',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => sshd?.stop());

  it('runs as a child of sshd with no run folder on the host; its output and exit status are the step’s', async () => {
    const stateDir = freshStateDir();
    const run = converse(
      ['run', '--plain', path.join(dir, 'foreground.yaml'), ...clientFlags(dir)],
      (line) => (/Answer retry/.test(line) ? 'skip it exits 3 on purpose' : typedAnswer(line)),
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);

    const sessions = path.join(stateDir, 'sessions');
    const [id] = readdirSync(sessions);
    const session = path.join(sessions, id!);
    const log = (step: string) => readFileSync(path.join(session, 'output', `${step}.1.log`), 'utf8').split('\n');
    // Foreground: the login shell sshd started runs the command itself.
    expect(log('fg')).toEqual(expect.arrayContaining([expect.stringMatching(/^parent sshd/), 'out-line', 'err-line']));
    // Detached: the wrapper started by setsid (or systemd-run) does.
    expect(log('bg')).toEqual(expect.arrayContaining(['parent sh', 'out-line', 'err-line']));
    expect(run.lines).toEqual(expect.arrayContaining(['target| out-line', 'target| err-line']));

    const entries = readJournal(path.join(session, 'journal.jsonl'));
    const finished = (step: string) => entries.find((entry) => entry.type === 'step.finished' && entry['stepId'] === step);
    expect(finished('fg')).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(finished('bg')).toMatchObject({ status: 'done', exitCode: 0 });

    const runs = path.join(homedir(), '.local/state/nightshift/runs', id!);
    expect(existsSync(path.join(runs, 'bg.1'))).toBe(true);
    expect(readdirSync(runs)).toEqual(['bg.1']);
  }, 120_000);
});
