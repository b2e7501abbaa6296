// A detached step run by the built binary in plain mode against the real sshd, through a
// relay that cuts the link in the middle of the step: the step's log holds every line once,
// in order, the journal has its exit status and the reconnect, and once the result is
// recorded the output on the host is released.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { clientFlags, converse, freshStateDir, typedAnswer } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';

const COUNT = 20_000;
const expected = Array.from({ length: COUNT }, (_, i) => `line ${i + 1}\n`).join('');

describeWithSshd('nightshift run --plain with a detached step over a link that is cut', () => {
  let sshd: Sshd;
  let relay: TcpRelay;
  let dir: string;

  beforeAll(async () => {
    sshd = await Sshd.start();
    relay = await TcpRelay.start(sshd.port);
    dir = mkdtempSync(path.join(tmpdir(), 'ns-link-cut-'));
    sshd.writeClientFiles(dir, 'target', { port: relay.port });
    const count = `i=1; while [ $i -le ${COUNT} ]; do echo "line $i"; [ $((i % 2000)) -eq 0 ] && sleep 0.3; i=$((i+1)); done; exit 0`;
    writeFileSync(
      path.join(dir, 'idle-cut.yaml'),
      'name: idle-cut\nhosts:\n  target: {}\nphases:\n  - name: later\n    steps:\n      - id: meanwhile\n        local: "echo waiting here; sleep 2"\n      - id: there\n        run: echo the step ran\n        host: target\n',
    );
    writeFileSync(
      path.join(dir, 'link-cut.yaml'),
      `name: link-cut\nhosts:\n  target: {}\nphases:\n  - name: count\n    steps:\n      - id: count\n        run: ${JSON.stringify(count)}\n        host: target\n      - id: after\n        run: echo after\n        host: target\n`,
    );
  });
  afterAll(async () => {
    await relay?.close();
    await sshd?.stop();
  });

  it('every line once and in order in the step log, the exit status and a reconnect in the journal', async () => {
    const stateDir = freshStateDir();
    let cut = false;
    const run = converse(
      ['run', '--plain', path.join(dir, 'link-cut.yaml'), ...clientFlags(dir)],
      (line) => {
        const printed = /^target\| line (\d+)$/.exec(line);
        if (!cut && printed && Number(printed[1]) >= 5000) {
          cut = true;
          relay.cut();
        }
        return typedAnswer(line);
      },
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    expect(cut).toBe(true);
    const text = run.lines.join('\n');
    expect(text).toMatch(/^target\| nightshift: the link to target dropped; reconnecting to follow the command on/m);
    expect(text).toMatch(/^target\| nightshift: reconnected to target$/m);
    // What plain mode printed: the same lines, once each, in order.
    const printed = run.lines.filter((line) => /^target\| line \d+$/.test(line)).map((line) => `${line.slice('target| '.length)}\n`);
    expect(printed.join('')).toBe(expected);

    const sessions = path.join(stateDir, 'sessions');
    const [id] = readdirSync(sessions);
    const session = path.join(sessions, id!);
    // stdout and stderr share the log; the login shell's own start-up noise on stderr (a
    // shared machine's pyenv rehash, say) may come with each follower channel.
    const logged = readFileSync(path.join(session, 'output', 'count.1.log'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('line '));
    expect(logged.map((line) => `${line}\n`).join('')).toBe(expected);
    const entries = readJournal(path.join(session, 'journal.jsonl'));
    expect(entries.find((entry) => entry.type === 'step.finished' && entry['stepId'] === 'count')).toMatchObject({ status: 'done', exitCode: 0 });
    const states = entries.filter((entry) => entry.type === 'host.state' && entry['host'] === 'target').map((entry) => entry['state']);
    // The run went on with the check's login, which the journal tells as the run starts.
    expect(states).toEqual(['connected', 'failed', 'connected', 'closed']);
    expect(entries.find((entry) => entry.type === 'host.state' && entry['host'] === 'target')).toMatchObject({ loggedInBy: 'check' });

    // The results are recorded (the last one as the run ended): the host keeps only the
    // marks that each step ran and how it ended.
    for (const step of ['count', 'after']) {
      const onHost = path.join(homedir(), '.local/state/nightshift/runs', id!, `${step}.1`);
      expect(existsSync(path.join(onHost, 'out'))).toBe(false);
      expect(readFileSync(path.join(onHost, 'exit'), 'utf8')).toBe('0\n');
    }
  }, 120_000);

  it("the check's login kept for the run drops before a step used it: nothing fails, and the step logs in again", async () => {
    const stateDir = freshStateDir();
    let cut = false;
    const run = converse(
      ['run', '--plain', path.join(dir, 'idle-cut.yaml'), ...clientFlags(dir)],
      (line) => {
        if (!cut && /waiting here$/.test(line)) {
          cut = true;
          relay.cut();
        }
        return typedAnswer(line);
      },
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    const code = await run.exited;
    const text = run.lines.join('\n');
    expect(code, text + run.stderr()).toBe(0);
    expect(cut).toBe(true);
    expect(text).toMatch(/^target\| the step ran$/m);
    expect(text).not.toMatch(/dropped|FAILED/);
    const sessions = path.join(stateDir, 'sessions');
    const entries = readJournal(path.join(sessions, readdirSync(sessions)[0]!, 'journal.jsonl'));
    const states = entries.filter((entry) => entry.type === 'host.state' && entry['host'] === 'target');
    expect(states.map((entry) => entry['state'])).toEqual(['connected', 'idle', 'connecting', 'connected', 'closed']);
    expect(states[0]).toMatchObject({ loggedInBy: 'check' });
    expect(states[1]!['error']).toMatch(/the link kept from the check dropped before a step used it/);
    expect(entries.find((entry) => entry.type === 'step.finished' && entry['stepId'] === 'there')).toMatchObject({ status: 'done', exitCode: 0 });
  }, 60_000);
});
