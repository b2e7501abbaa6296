// A rollout over a dozen hosts killed with SIGKILL in the middle of a batch, twice, and
// resumed: each host goes on at its own step, and every host finishes exactly once. The
// hosts are aliases of one OpenSSH sshd; each step appends its line to a file of its host
// when it ends, so a step run twice shows as a line written twice.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { converse, freshStateDir, typedAnswer, type Conversation } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { waitFor } from '../support/wait-for.js';

interface Entry {
  seq: number;
  type: string;
  [field: string]: unknown;
}

const HOSTS = Array.from({ length: 12 }, (_, index) => `h${String(index + 1).padStart(2, '0')}`);
const LINES = ['one', 'two', 'three'];

/**
 * One for_each phase over HOSTS in two batches of six, all six at work at once. Each step is
 * detached (the default) and takes a second or two; it writes its line at its end.
 */
function writeRunbook(dir: string, marks: string): string {
  const file = path.join(dir, 'fleet-resume.yaml');
  const step = (line: string, seconds: string) => [
    `      - title: "{{host}}: ${line}"`,
    '        host: "{{host}}"',
    `        run: sleep ${seconds}; echo ${line} >> {{marks}}/{{host}}.lines; echo ${line} written on {{host}}`,
  ];
  writeFileSync(
    file,
    [
      'name: fleet resume rehearsal',
      'sites:',
      '  upgrader: { name: Operations, tz: Europe/Berlin }',
      '  site: { name: Machine room, tz: Europe/Berlin }',
      'vars:',
      `  marks: ${marks}`,
      'groups:',
      `  fleet: [${HOSTS.join(', ')}]`,
      'phases:',
      '  - name: roll',
      '    for_each: fleet',
      '    serial: 6',
      '    parallel: 6',
      '    steps:',
      ...step('one', '1.5'),
      ...step('two', '1.5'),
      ...step('three', '1'),
      '',
    ].join('\n'),
  );
  return file;
}

describeWithSshd('a rollout killed with SIGKILL mid-batch and resumed', () => {
  let sshd: Sshd;
  let clientDir: string;
  const cleanups: string[] = [];

  beforeAll(async () => {
    // A dozen logins at once: more than sshd's default MaxStartups lets in unauthenticated.
    sshd = await Sshd.start({ extraConfig: ['MaxStartups 100:30:200'] });
    clientDir = mkdtempSync(path.join(tmpdir(), 'ns-fleet-resume-ssh-'));
    cleanups.push(clientDir);
    writeFileSync(path.join(clientDir, 'ssh_config'), HOSTS.map((host) => sshd.clientConfig(host)).join('\n'));
    writeFileSync(path.join(clientDir, 'known_hosts'), `${sshd.knownHostsLine()}\n`);
  });
  afterAll(async () => {
    await sshd?.stop();
    for (const dir of cleanups) rmSync(dir, { recursive: true, force: true });
  });

  it('every host finishes exactly once: each step wrote its line once, and the journal has one host.finished per host', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-fleet-resume-'));
    cleanups.push(dir);
    const marks = path.join(dir, 'marks');
    mkdirSync(marks);
    const runbook = writeRunbook(dir, marks);
    const env = { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' };
    cleanups.push(env.NIGHTSHIFT_STATE_DIR);

    const asked: string[] = [];
    /** Only typed confirmations are answered: a question about a step (retry? done?) would mean a step was not followed on. */
    const answer = (line: string) => {
      if (/Answer /.test(line)) asked.push(line);
      return typedAnswer(line);
    };
    const journalFile = () => {
      const sessions = path.join(env.NIGHTSHIFT_STATE_DIR, 'sessions');
      const [id] = existsSync(sessions) ? readdirSync(sessions) : [];
      return id === undefined ? undefined : path.join(sessions, id, 'journal.jsonl');
    };
    /** The journal as written so far; a line torn by the kill is left out. */
    const journal = (): Entry[] => {
      const file = journalFile();
      if (!file || !existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Entry];
          } catch {
            return [];
          }
        });
    };
    const count = (type: string, where: (entry: Entry) => boolean = () => true) => journal().filter((entry) => entry.type === type && where(entry)).length;
    const transcript = (run: Conversation) => `${run.lines.join('\n')}\n${run.stderr()}`;

    /** Kills the run with SIGKILL once `ready` holds: in the middle of a batch, some of its steps ended and some not. */
    const killWhen = async (run: Conversation, ready: () => boolean, what: string) => {
      let exited = false;
      void run.exited.then(() => (exited = true));
      await waitFor(() => exited || ready(), { what, timeoutMs: 60_000, intervalMs: 20, detail: () => transcript(run) });
      if (exited) throw new Error(`nightshift ended before ${what}:\n${transcript(run)}`);
      run.child.kill('SIGKILL');
      await run.exited;
    };
    const stepsDoneIn = (batch: number) =>
      count(
        'step.finished',
        (entry) => entry['status'] === 'done' && HOSTS.slice((batch - 1) * 6, batch * 6).some((host) => String(entry['stepId']).endsWith(`@${host}`)),
      );

    // 1: killed in the first batch, once a few of its steps have ended.
    const first = converse(
      ['run', '--plain', runbook, '--ssh-config', path.join(clientDir, 'ssh_config'), '--known-hosts', path.join(clientDir, 'known_hosts')],
      answer,
      env,
    );
    await killWhen(first, () => stepsDoneIn(1) >= 4 && count('batch.finished') === 0, 'four steps of the first batch to end');

    // 2: resumed, and killed again in the second batch.
    const second = converse(['resume', '--plain'], answer, env);
    await killWhen(second, () => count('batch.started') >= 2 && stepsDoneIn(2) >= 3 && count('batch.finished') === 1, 'three steps of the second batch to end');

    // 3: resumed to the end.
    const third = converse(['resume', '--plain'], answer, env);
    const code = await third.exited;
    expect(code, transcript(third)).toBe(0);
    expect(asked, 'questions asked on resume').toEqual([]);

    /** A host's attempts as the journal has them, to say which step ran again. */
    const attemptsOf = (host: string) =>
      journal()
        .filter((entry) => entry.type === 'output.closed' && String(entry['stepId']).endsWith(`@${host}`))
        .map((entry) => `${String(entry['stepId'])} attempt ${String(entry['attempt'])}`)
        .join(', ');
    for (const host of HOSTS) {
      expect(readFileSync(path.join(marks, `${host}.lines`), 'utf8'), `the lines of ${host} (${attemptsOf(host)})`).toBe(`${LINES.join('\n')}\n`);
    }
    const entries = journal();
    const finished = entries.filter((entry) => entry.type === 'host.finished');
    expect(finished.map((entry) => entry['host']).sort()).toEqual(HOSTS);
    expect(finished.every((entry) => entry['outcome'] === 'done')).toBe(true);
    expect(entries.filter((entry) => entry.type === 'batch.finished').map((entry) => entry['batch'])).toEqual([1, 2]);
    // Each step ended done exactly once, though two kills came while steps ran.
    for (const host of HOSTS) {
      const done = entries.filter((entry) => entry.type === 'step.finished' && String(entry['stepId']).endsWith(`@${host}`) && entry['status'] === 'done');
      expect(done, `the steps of ${host}`).toHaveLength(LINES.length);
    }
    expect(entries.filter((entry) => entry.type === 'session.resumed')).toHaveLength(2);
    expect(entries.find((entry) => entry.type === 'run.finished')).toMatchObject({ outcome: 'completed' });
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
  }, 180_000);
});
