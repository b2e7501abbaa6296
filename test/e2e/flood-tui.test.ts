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
    // One continuous flood, never pausing: xargs starts a printf for every 20 numbers, which
    // makes it last several seconds (about 5 on an idle machine, longer under load). Then the
    // step stays running for a while so the screen can be checked before it ends.
    writeFileSync(
      path.join(dir, 'flood.yaml'),
      `name: Flood
hosts:
  flood: {}
phases:
  - name: print
    steps:
      - run: seq 1 ${LINES} | xargs -n 20 printf '%s\\n'; sleep 4
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

    // Mid-flood: keys are answered while lines are still arriving. The help opens and
    // closes, and the count shown after it closed is still short of the end; PgUp scrolls.
    const countOf = (screen: string) => Number(/([\d,]+) lines/.exec(screen)![1]!.replaceAll(',', ''));
    await term.waitFor(/[\d,]+ lines/, 20_000, 'the first lines');
    term.keys('?');
    await term.waitFor(/Ctrl-C twice/, 5000, 'the key list to open mid-flood');
    term.keys('?');
    const afterHelp = await term.waitFor((s) => !/Ctrl-C twice/.test(s) && /[\d,]+ lines/.test(s), 5000, 'the key list to close');
    expect(countOf(afterHelp)).toBeLessThan(LINES);
    term.keys('PPage');
    const midFlood = await term.waitFor(/scrolled back 10/, 5000, 'PgUp to scroll back');
    const shownCount = countOf(midFlood);
    expect(shownCount).toBeGreaterThan(countOf(afterHelp) - 1);
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
