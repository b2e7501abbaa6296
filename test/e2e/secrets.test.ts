// Secret variables end to end with the built binary against OpenSSH's sshd: one from the
// environment, one asked (plain mode over a pipe), a step that echoes both, one that writes
// their hash on the host, a failing one that prints a value on stderr, a chat line and a
// skip reason that hold a value, a pause and a resume (where the asked one is asked again).
// Then every file the session wrote, the reports and the cast are searched for the values:
// none may hold them, while the host must have received them exactly.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientFlags, BIN, converse, freshStateDir, ROOT, type Conversation } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => path.join(dir, name))
    .filter((file) => statSync(file).isFile());
}

/** The forms a value could take in a file: as it is, JSON-escaped, shell-quoted. */
function formsOf(value: string): string[] {
  return [value, JSON.stringify(value).slice(1, -1), `'${value.replaceAll("'", `'\\''`)}'`];
}

describeWithSshd('secret variables against OpenSSH sshd', () => {
  let sshd: Sshd;
  let dir: string;
  let stateDir: string;
  let sessionId: string | undefined;
  const token = randomBytes(6).toString('hex');
  // Hostile: quotes, $(...), a backtick and a backslash; nothing of it may run anywhere.
  const asked = `pw'"$(touch /tmp/ns-secret-pwned-${token})\`;\\S3cr3t-${token}`;
  const fromEnv = `tok-${token}-ENVVALUE`;

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-secrets-'));
    sshd.writeClientFiles(dir, 'target');
    writeFileSync(
      path.join(dir, 'secrets.yaml'),
      [
        'name: secrets',
        'secrets:',
        '  db_pw: { from: ask, prompt: Database password }',
        '  api: { from: env, name: NS_TEST_API_TOKEN }',
        'hosts:',
        '  target: {}',
        'phases:',
        '  - name: use',
        '    steps:',
        '      - id: echo',
        `        run: 'echo "pw=[{{db_pw}}]"; echo api={{api}}; echo "$PPID" > /dev/null'`,
        '        host: target',
        '      - id: hash',
        `        run: printf '%s|%s' {{db_pw}} "{{api}}" | sha256sum | cut -c1-64 > ${path.join(dir, 'received.sha256')}`,
        '        host: target',
        '        attach: false',
        '      - id: leak',
        `        run: 'echo "denied for {{db_pw}}" >&2; exit 3'`,
        '        host: target',
        '        check: test {{api}} = nothing',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await sshd?.stop();
    if (sessionId) rmSync(path.join(homedir(), '.local/state/nightshift/runs', sessionId), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    rmSync(`/tmp/ns-secret-pwned-${token}`, { force: true });
  });

  const connect = () => [...clientFlags(dir)];
  const env = () => ({ NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '', NS_TEST_API_TOKEN: fromEnv });

  it('refuses a secret given with --var, saying why, before any session exists', async () => {
    stateDir = freshStateDir();
    const run = converse(['run', '--plain', path.join(dir, 'secrets.yaml'), '--var', `db_pw=${asked}`, ...connect()], () => undefined, env());
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toMatch(
      /--var db_pw=\.\.\. is refused: 'db_pw' is a secret of the runbook, and a value on the command line stays in the shell's history and shows in ps/,
    );
    expect(run.stderr()).not.toContain(asked);
    expect(existsSync(path.join(stateDir, 'sessions'))).toBe(false);
  });

  it('sends the values to the host and writes them nowhere', async () => {
    stateDir = freshStateDir();
    const prompts: string[] = [];
    const answers = (line: string): string | undefined => {
      if (/Database password \(secret db_pw; not shown, not stored\)/.test(line)) {
        prompts.push(line);
        return asked;
      }
      return undefined;
    };
    // First run: the failing step's question gets a chat line with the value, then a pause.
    const first = converse(
      ['run', '--plain', path.join(dir, 'secrets.yaml'), ...connect()],
      (line) => answers(line) ?? (/Answer retry/.test(line) ? `say the password is ${asked} right?\npause` : undefined),
      env(),
    );
    expect(await first.exited, transcript(first)).toBe(4);
    expect(prompts).toHaveLength(1);
    sessionId = readdirSync(path.join(stateDir, 'sessions'))[0]!;

    // The resume asks again (nothing was stored) and skips the failed step with the value in the reason.
    const second = converse(
      ['resume', '--plain', ...connect()],
      (line) => answers(line) ?? (/Answer retry/.test(line) ? `skip it said ${asked} and ${fromEnv}` : undefined),
      env(),
    );
    expect(await second.exited, transcript(second)).toBe(0);
    expect(prompts).toHaveLength(2);

    // The host got both values exactly, and ran nothing they hold.
    const expected = createHash('sha256').update(`${asked}|${fromEnv}`).digest('hex');
    expect(readFileSync(path.join(dir, 'received.sha256'), 'utf8').trim()).toBe(expected);
    expect(existsSync(`/tmp/ns-secret-pwned-${token}`)).toBe(false);

    // What the upgrader saw shows the masks where the values were printed.
    const session = path.join(stateDir, 'sessions', sessionId);
    const echoed = readFileSync(path.join(session, 'output', 'echo.1.log'), 'utf8');
    expect(echoed).toBe('pw=[«secret db_pw»]\napi=«secret api»\n');
    expect(readFileSync(path.join(session, 'output', 'leak.1.log'), 'utf8')).toBe('denied for «secret db_pw»\n');
    expect(first.lines.join('\n')).toContain('target| pw=[«secret db_pw»]');

    const cast = path.join(dir, 'session.cast');
    const report = spawnSync(process.execPath, [BIN, 'report', sessionId, '--cast', cast], { cwd: ROOT, env: { ...process.env, ...env() }, encoding: 'utf8' });
    expect(report.status, report.stderr).toBe(0);
    const written = [...filesUnder(stateDir), cast];
    expect(written.map((file) => path.relative(stateDir, file))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/journal\.jsonl$/),
        expect.stringMatching(/session\.json$/),
        expect.stringMatching(/snapshot\.json$/),
        expect.stringMatching(/report\.html$/),
        expect.stringMatching(/report\.md$/),
        expect.stringMatching(/output\/leak\.1\.log$/),
      ]),
    );
    const texts = [
      ...written.map((file) => ({ where: file, text: readFileSync(file, 'utf8') })),
      { where: 'first run stdout+stderr', text: transcript(first) },
      { where: 'resume stdout+stderr', text: transcript(second) },
    ];
    for (const { where, text } of texts) {
      for (const form of [...formsOf(asked), ...formsOf(fromEnv), `S3cr3t-${token}`, `tok-${token}`]) {
        expect(text.includes(form), `${where} holds ${JSON.stringify(form)}:\n${text}`).toBe(false);
      }
    }
    // The journal kept the chat line and the skip reason, masked.
    const journal = readFileSync(path.join(session, 'journal.jsonl'), 'utf8');
    expect(journal).toContain('the password is «secret db_pw» right?');
    expect(journal).toContain('it said «secret db_pw» and «secret api»');
    // The report shows the commands with their placeholders.
    expect(readFileSync(path.join(session, 'report.md'), 'utf8')).toContain('{{db_pw}}');

    // The host's run folders of this session hold no value once the run has released them.
    for (const file of filesUnder(path.join(homedir(), '.local/state/nightshift/runs', sessionId))) {
      const text = readFileSync(file, 'utf8');
      expect(text.includes(asked) || text.includes(fromEnv), `${file} on the host holds a value`).toBe(false);
    }
  }, 180_000);
});

describe('a secret asked before the full-screen view', () => {
  let tmux: TmuxSession | undefined;
  const dirs: string[] = [];
  afterEach(() => {
    tmux?.kill();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!tmuxAvailable())(
    'is typed unseen, and the full-screen view then takes every key',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'ns-secrets-tui-'));
      const stateDir = freshStateDir();
      dirs.push(dir, stateDir);
      const value = `Tui-${randomBytes(6).toString('hex')}`;
      writeFileSync(
        path.join(dir, 'tui.yaml'),
        [
          'name: tui secret',
          'secrets:',
          '  pw: { from: ask, prompt: Local password }',
          'phases:',
          '  - name: one',
          '    steps:',
          // ps lists every process's command line at that moment, the step's own shell's included.
          `      - local: 'ps -eo args > ps.txt; echo "got {{pw}}"; printf %s {{pw}} | sha256sum | cut -c1-64 > received.sha256'`,
          '      - checkpoint: look at the output',
          '',
        ].join('\n'),
      );
      tmux = TmuxSession.start([process.execPath, BIN, 'run', '--no-helpers', path.join(dir, 'tui.yaml')], {
        cwd: ROOT,
        env: { NIGHTSHIFT_STATE_DIR: stateDir },
      });
      const term = tmux;
      await term.waitFor(/Local password \(secret pw; not shown, not stored\):/, 20_000, 'the secret prompt');
      term.type(value);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(term.screen()).not.toContain(value);
      term.keys('Enter');
      let screen = await term.waitFor(/y confirm/, 20_000, 'the checkpoint in the full-screen view');
      expect(screen).not.toContain(value);
      term.keys('y');
      screen = await term.waitFor(/The run completed/, 20_000, 'the run to complete after the key');
      expect(screen).not.toContain(value);
      term.keys('q');
      expect(await term.waitForExit(10_000)).toBe(0);
      expect(readFileSync(path.join(dir, 'received.sha256'), 'utf8').trim()).toBe(createHash('sha256').update(value).digest('hex'));
      for (const file of filesUnder(stateDir)) expect(readFileSync(file, 'utf8').includes(value), file).toBe(false);
      const logs = filesUnder(stateDir).filter((file) => file.endsWith('.log'));
      expect(logs.map((file) => readFileSync(file, 'utf8'))).toContain('got «secret pw»\n');
      // The value reached the local shell through its environment, not its command line.
      const processes = readFileSync(path.join(dir, 'ps.txt'), 'utf8');
      expect(processes).toContain('unset NIGHTSHIFT_COMMAND');
      expect(processes).not.toContain(value);
    },
    60_000,
  );
});

function transcript(run: Conversation): string {
  return `${run.lines.join('\n')}\n${run.stderr()}`;
}
