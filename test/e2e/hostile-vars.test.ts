// A variable given with --var that tries every way out of its quoting, in a runbook that
// writes it as "{{v}}", '{{v}}' and {{v}} (the shipped runbooks' forms): the built binary runs
// it locally and over the real sshd, nothing it holds is executed, and each command prints
// it byte for byte.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientFlags, converse, freshStateDir } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

describeWithSshd('nightshift run with a hostile --var', () => {
  let sshd: Sshd;
  let dir: string;
  let stateDir: string;
  let sessionId: string | undefined;

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-hostile-vars-'));
    sshd.writeClientFiles(dir, 'target');
    const print = (where: string) => `printf '${where}[%s]\\n' "{{v}}" '{{ v }}' {{v}}`;
    writeFileSync(
      path.join(dir, 'quoting.yaml'),
      [
        'name: quoting',
        'vars:',
        '  v: harmless',
        'hosts:',
        '  target: {}',
        'phases:',
        '  - name: print',
        '    steps:',
        '      - id: local',
        `        local: ${JSON.stringify(print('local'))}`,
        '      - id: foreground',
        `        run: ${JSON.stringify(print('foreground'))}`,
        '        host: target',
        '        attach: false',
        '      - id: detached',
        `        run: ${JSON.stringify(print('detached'))}`,
        '        host: target',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await sshd?.stop();
    if (sessionId) rmSync(path.join(homedir(), '.local/state/nightshift/runs', sessionId), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs nothing the value holds and prints it byte for byte, locally and on the host', async () => {
    const marker = path.join(dir, 'pwned');
    const value = `x"; touch ${marker}; echo "'; touch ${marker}; '$(touch ${marker})\`touch ${marker}\`\\`;
    stateDir = freshStateDir();
    const run = converse(
      ['run', '--plain', path.join(dir, 'quoting.yaml'), '--var', `v=${value}`, ...clientFlags(dir)],
      (line) => (/Answer retry/.test(line) ? 'pause' : undefined),
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    expect(existsSync(marker)).toBe(false);

    const sessions = path.join(stateDir, 'sessions');
    sessionId = readdirSync(sessions)[0]!;
    for (const where of ['local', 'foreground', 'detached']) {
      const log = readFileSync(path.join(sessions, sessionId, 'output', `${where}.1.log`), 'utf8');
      expect(log).toBe(`${where}[${value}]\n`.repeat(3));
    }
  }, 120_000);
});
