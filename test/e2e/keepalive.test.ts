// --keepalive against the real sshd, run by the built binary in plain mode: with the
// server's connection processes frozen (SIGSTOP: the TCP link stays up, nothing answers),
// the dead link is noticed after about three keepalive intervals, so the flag sets how
// fast; the step then goes on over a new login. --help states the default.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { clientFlags, BIN, converse, freshStateDir, ROOT, typedAnswer } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';

const COUNT = 60;

describeWithSshd('nightshift run --keepalive', () => {
  let sshd: Sshd;
  let dir: string;

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-keepalive-'));
    sshd.writeClientFiles(dir, 'target');
    // A line every 0.1 s, frozen at line 20: the rest is followed over a new login once the dead link is noticed.
    const count = `i=1; while [ $i -le ${COUNT} ]; do echo "line $i"; sleep 0.1; i=$((i+1)); done`;
    writeFileSync(
      path.join(dir, 'count.yaml'),
      `name: count\nhosts:\n  target: {}\nphases:\n  - name: count\n    steps:\n      - id: count\n        run: ${JSON.stringify(count)}\n        host: target\n`,
    );
  });
  afterEach(() => sshd.thawConnections());
  afterAll(() => sshd?.stop());

  /** Seconds from freezing the link (at line 20) to nightshift saying it dropped; the run must still end complete. */
  async function secondsToNotice(keepalive: string): Promise<number> {
    let frozenAt = 0;
    let noticedAt = 0;
    const run = converse(
      ['run', '--plain', path.join(dir, 'count.yaml'), ...clientFlags(dir), '--keepalive', keepalive],
      (line) => {
        if (!frozenAt && line === 'target| line 20') {
          frozenAt = Date.now();
          sshd.freezeConnections();
        }
        if (!noticedAt && /^target\| nightshift: the link to target dropped/.test(line)) noticedAt = Date.now();
        return typedAnswer(line);
      },
      { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
    );
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    expect(frozenAt).toBeGreaterThan(0);
    expect(noticedAt).toBeGreaterThan(0);
    const printed = run.lines.filter((line) => /^target\| line \d+$/.test(line));
    expect(printed).toEqual(Array.from({ length: COUNT }, (_, i) => `target| line ${i + 1}`));
    return (noticedAt - frozenAt) / 1000;
  }

  it('a frozen link is noticed after about three intervals: 1s notices it within seconds, 4s not before 8 s', async () => {
    const fast = await secondsToNotice('1s');
    const slow = await secondsToNotice('4s');
    console.log(`noticed after ${fast.toFixed(1)} s with --keepalive 1s, ${slow.toFixed(1)} s with --keepalive 4s`);
    // Noticed three intervals after the last answered keepalive, which came at most one interval before the freeze:
    // between two and three intervals after it (plus a busy machine's slack).
    expect(fast).toBeGreaterThanOrEqual(1.5);
    expect(fast).toBeLessThan(7.5);
    expect(slow).toBeGreaterThanOrEqual(7.5);
    expect(slow).toBeLessThan(25);
  }, 180_000);

  it('--help gives the default: a dead link noticed within about 30 s', () => {
    const help = spawnSync(process.execPath, [BIN, 'run', '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--keepalive DURATION +time between keepalives \(default 10s\)/);
    // The help is wrapped at a fixed width: the sentence may run over two lines.
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/noticed within about 30 s by default/);
  });
});
