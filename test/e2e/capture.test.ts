// Captured values end to end with the built binary against OpenSSH's sshd, in plain mode:
// a step prints a hostile value (quotes, spaces, $(...)), the next step gets it through
// {{value}} and must receive it literally (nothing of it runs); a JSON value from a local
// step and a regex group from a remote one flow the same way; the journal keeps each value.
// A capture that finds nothing fails its step, saying what it looked for, and nothing
// after it runs.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { clientFlags, converse, freshStateDir, typedAnswer, type Conversation } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

describeWithSshd('captured values against OpenSSH sshd', () => {
  let sshd: Sshd;
  let dir: string;
  const stateDirs: string[] = [];
  const children: Conversation[] = [];
  const token = randomBytes(6).toString('hex');
  const pwned = `/tmp/ns-capture-pwned-${token}`;
  const hostile = `$(touch ${pwned}) 'it''s' "two  words" \`touch ${pwned}\`; touch ${pwned}`;

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-capture-'));
    sshd.writeClientFiles(dir, 'target');
    writeFileSync(path.join(dir, 'hostile.txt'), `some noise first\n${hostile}\n\n`);
  });
  afterEach(() => {
    // A run a failed assertion left waiting for an answer.
    for (const child of children.splice(0)) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
    for (const stateDir of stateDirs) rmSync(stateDir, { recursive: true, force: true });
    rmSync(pwned, { force: true });
  });

  const transcript = (run: Conversation) => `${run.lines.join('\n')}\n--- stderr ---\n${run.stderr()}`;

  function runSteps(name: string, steps: string[], answer: (line: string) => string | undefined = () => undefined) {
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      ['name: capture', 'hosts:', '  target: {}', 'phases:', '  - name: flow', '    steps:', ...steps.map((line) => `      ${line}`), ''].join('\n'),
    );
    const stateDir = freshStateDir();
    stateDirs.push(stateDir);
    const env = { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' };
    const run = converse(['run', '--plain', file, ...clientFlags(dir)], answer, env);
    children.push(run);
    const resume = (answerResume: (line: string) => string | undefined) => {
      const resumed = converse(['resume', '--plain', ...clientFlags(dir)], answerResume, env);
      children.push(resumed);
      return resumed;
    };
    const journal = () => {
      const session = readdirSync(path.join(stateDir, 'sessions'))[0]!;
      return readFileSync(path.join(stateDir, 'sessions', session, 'journal.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { type: string; [key: string]: unknown });
    };
    return { run, journal, resume };
  }

  it('a value printed by one step arrives literally in the next ones, and none of it runs', async () => {
    const received = path.join(dir, 'received.txt');
    const { run, journal } = runSteps(
      'flow',
      [
        '- id: print',
        `  run: cat ${path.join(dir, 'hostile.txt')}`,
        '  host: target',
        '  capture: value',
        '- id: use',
        `  run: printf '%s' {{value}} > ${received}; echo "got [{{value}}]"; echo 'single [{{value}}]'`,
        '  host: target',
        '  attach: false',
        '- id: json',
        `  local: ${JSON.stringify(`echo '{"disk": {"partitions": [{"id": "0x5a1e"}]}}'`)}`,
        '  capture: { name: disk_id, json: "disk.partitions[0].id" }',
        '- id: label',
        '  run: echo "UUID=4f1c LABEL=root-{{disk_id}}"',
        '  host: target',
        "  capture: { name: label, regex: 'LABEL=(\\S+)' }",
        "  destructive: 'disk {{disk_id}}'",
        '- id: last',
        '  local: echo "label is {{label}}"',
        '  title: "show the label {{label}} of disk {{disk_id}}"',
      ],
      typedAnswer,
    );
    expect(await run.exited, transcript(run)).toBe(0);
    expect(readFileSync(received, 'utf8')).toBe(hostile);
    expect(existsSync(pwned)).toBe(false);
    const out = run.lines.join('\n');
    expect(out).toContain(`got [${hostile}]`);
    expect(out).toContain(`single [${hostile}]`);
    expect(out).toContain('label is root-0x5a1e');
    expect(out).toContain('captured {{disk_id}} = 0x5a1e from 1.3');
    // The approval asked for the text with the value in, and that is what was typed.
    expect(out).toMatch(/Type "disk 0x5a1e" to run it/);
    expect(journal().find((entry) => entry.type === 'step.approved')).toMatchObject({ stepId: 'label' });
    // The title is shown with the values once they are captured.
    expect(out).toMatch(/1\.5 show the label root-0x5a1e of disk 0x5a1e/);
    const captured = journal().filter((entry) => entry.type === 'value.captured');
    expect(captured.map((entry) => [entry['stepId'], entry['name'], entry['value']])).toEqual([
      ['print', 'value', hostile],
      ['json', 'disk_id', '0x5a1e'],
      ['label', 'label', 'root-0x5a1e'],
    ]);
  }, 90_000);

  it('a value captured before a pause is there after the resume', async () => {
    const marker = path.join(dir, 'go-on');
    const { run, resume, journal } = runSteps(
      'resumed',
      [
        '- id: print',
        '  run: echo "v-$((6 * 7))"',
        '  host: target',
        '  capture: value',
        '- id: use',
        `  run: test -f ${marker} && echo "after resume [{{value}}]"`,
        '  host: target',
      ],
      (line) => (/Answer retry/.test(line) ? 'pause' : undefined),
    );
    expect(await run.exited, transcript(run)).toBe(4);
    writeFileSync(marker, '');
    const second = resume((line) => (/Answer retry/.test(line) ? 'retry' : undefined));
    expect(await second.exited, transcript(second)).toBe(0);
    expect(second.lines.join('\n')).toContain('after resume [v-42]');
    expect(journal().filter((entry) => entry.type === 'value.captured')).toHaveLength(1);
  }, 90_000);

  it('a step whose value was never captured (its step skipped) fails unsent, naming the step', async () => {
    let asked = 0;
    const { run, journal } = runSteps(
      'skipped',
      ['- id: print', '  run: echo v; exit 1', '  host: target', '  capture: value', '- id: use', `  run: touch ${pwned}; echo {{value}}`, '  host: target'],
      (line) => (/Answer retry/.test(line) ? (++asked === 1 ? 'skip not needed today' : 'pause') : undefined),
    );
    expect(await run.exited, transcript(run)).toBe(4);
    expect(transcript(run)).toMatch(/\{\{value\}\} has no value: step 1\.1 that captures it did not run/);
    expect(existsSync(pwned)).toBe(false);
    expect(journal().some((entry) => entry.type === 'step.skipped' && entry['stepId'] === 'print')).toBe(true);
  }, 90_000);

  it('a capture that finds nothing fails its step with what it looked for, and the next step does not run', async () => {
    const { run, journal } = runSteps(
      'nothing',
      [
        '- id: find',
        '  run: echo "no label here"',
        '  host: target',
        "  capture: { name: label, regex: 'LABEL=(\\S+)' }",
        '- id: after',
        '  run: echo {{label}}',
        '  host: target',
      ],
      (line) => (/Answer retry/.test(line) ? 'pause' : undefined),
    );
    expect(await run.exited, transcript(run)).toBe(4);
    const out = transcript(run);
    expect(out).toMatch(/capture label \(group 1 of \/LABEL=\(\\S\+\)\/\): nothing on stdout matched; the last line of stdout was "no label here"/);
    const entries = journal();
    expect(entries.some((entry) => entry.type === 'value.captured')).toBe(false);
    expect(entries.some((entry) => entry.type === 'step.started' && entry['stepId'] === 'after')).toBe(false);
  }, 90_000);
});
