// 100 000 lines from a real sshd through the full-screen view: keys still answer while the
// lines arrive, and the screen has caught up before the step ends. The host is unknown at
// first: its fingerprint is shown and accepting it records it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';

const LINES = 100_000;

describeWithSshd('a flood of output in the full-screen view', () => {
  let sshd: Sshd;
  let dir: string;
  let tmux: TmuxSession | undefined;

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-flood-'));
    writeFileSync(
      path.join(dir, 'ssh_config'),
      `Host flood\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.clientKey.privateKeyFile}\n`,
    );
    writeFileSync(path.join(dir, 'known_hosts'), '');
    // Twenty bursts of 5 000 lines with short pauses: the flood lasts a few seconds, then the
    // step stays running for a while so the screen can be checked before it ends.
    writeFileSync(
      path.join(dir, 'flood.yaml'),
      `name: Flood
hosts:
  flood: {}
phases:
  - name: print
    steps:
      - run: for i in $(seq 0 19); do seq $((i*5000+1)) $((i*5000+5000)); sleep 0.3; done; sleep 4
        host: flood
        title: Print a hundred thousand lines
      - checkpoint: The flood is over.
`,
    );
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  afterEach(() => tmux?.kill());

  it.skipIf(!tmuxAvailable())('keeps answering keys and catches up', async () => {
    tmux = TmuxSession.start(
      [process.execPath, BIN, 'run', path.join(dir, 'flood.yaml'), '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', path.join(dir, 'known_hosts')],
      { cwd: ROOT, env: { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' } },
    );
    const term = tmux;

    const prompt = await term.waitFor(/Unknown host flood/, 20_000, 'the unknown host question');
    expect(prompt).toContain(sshd.hostKey('ed25519').fingerprint);
    term.keys('y');

    // Mid-flood: a key is answered while lines are still arriving.
    await term.waitFor(/[\d,]+ lines/, 20_000, 'the first lines');
    term.keys('PPage');
    const midFlood = await term.waitFor(/scrolled back 10/, 5000, 'PgUp to scroll back');
    const shownCount = Number(/([\d,]+) lines/.exec(midFlood)![1]!.replaceAll(',', ''));
    expect(shownCount).toBeGreaterThan(0);
    expect(shownCount).toBeLessThan(LINES);
    term.keys('End');
    await term.waitFor((s) => !/scrolled back/.test(s), 5000, 'End to follow again');

    // Caught up before the step ends: the whole count and the last line are on screen
    // while the step is still running (its trailing sleep).
    const caughtUp = await term.waitFor(/100,000 lines/, 20_000, 'all 100 000 lines counted');
    expect(caughtUp).toMatch(/│100000\s/);
    expect(caughtUp).not.toMatch(/CHECKPOINT/);

    await term.waitFor(/CHECKPOINT/, 20_000, 'the checkpoint after the flood');
    term.keys('y');
    await term.waitFor(/The run completed/, 10_000);
    term.keys('q');
    expect(await term.waitForExit()).toBe(0);
    expect(readFileSync(path.join(dir, 'known_hosts'), 'utf8')).toContain(sshd.hostKey('ed25519').publicKey.split(' ')[1]);
  }, 90_000);
});
