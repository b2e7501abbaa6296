// Floods of output from a real sshd through the full-screen view: keys still answer while
// the lines arrive, the screen has caught up before the step ends, and the flood alone
// redraws the screen at most ~20 times a second.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TmuxSession, tmuxAvailable, type OutputRecording } from '../support/tmux.js';

const LINES = 100_000;

/** Ink wraps every frame it writes in synchronized-output marks (DEC mode 2026); this one opens a frame. */
const FRAME_START = Buffer.from('\x1b[?2026h');

/** When each frame came, from a recording of the terminal's input. */
function frameTimes(recording: OutputRecording): number[] {
  const all = Buffer.concat(recording.chunks.map((chunk) => chunk.data));
  const ends: number[] = [];
  let end = 0;
  for (const chunk of recording.chunks) ends.push((end += chunk.data.length));
  const times: number[] = [];
  let chunk = 0;
  for (let at = all.indexOf(FRAME_START); at !== -1; at = all.indexOf(FRAME_START, at + 1)) {
    while (ends[chunk]! <= at) chunk++;
    times.push(recording.chunks[chunk]!.at);
  }
  return times;
}

/** The most frames within any one second. */
function busiestSecond(times: number[]): number {
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last++) {
    while (times[last]! - times[first]! >= 1000) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

const countOf = (screen: string) => Number(/([\d,]+) lines/.exec(screen)![1]!.replaceAll(',', ''));

describeWithSshd('a flood of output in the full-screen view', () => {
  let sshd: Sshd;
  let dir: string;
  let tmux: TmuxSession | undefined;

  /** A runbook whose one step floods `lines` lines, then stays running a while so the screen can be checked before it ends. */
  function floodRunbook(lines: number): string {
    const file = path.join(dir, `flood-${lines}.yaml`);
    // A flood of 500-line bursts 30 ms apart: at least 6 s per 100 000 lines wherever it
    // runs, at about 15,000 lines a second. (A printf per line or per 20 numbers made its length
    // the machine's cost of a fork: 23 s on a slow one, which left no time to catch up.)
    writeFileSync(
      file,
      `name: Flood
hosts:
  flood: {}
phases:
  - name: print
    steps:
      - run: n=0; while [ $n -lt ${lines} ]; do seq $((n + 1)) $((n + 500)); n=$((n + 500)); sleep 0.03; done; sleep 4
        host: flood
        title: Print the numbers
      - checkpoint: The flood is over.
`,
    );
    return file;
  }

  function startRun(runbook: string, knownHosts: string): TmuxSession {
    // --no-check: the unknown host is asked about in the full-screen view, not by the check before it.
    return TmuxSession.start([process.execPath, BIN, 'run', '--no-check', runbook, '--ssh-config', path.join(dir, 'ssh_config'), '--known-hosts', knownHosts], {
      cwd: ROOT,
      env: { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
    });
  }

  beforeAll(async () => {
    sshd = await Sshd.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ns-flood-'));
    writeFileSync(path.join(dir, 'ssh_config'), sshd.clientConfig('flood'));
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  afterEach(() => tmux?.kill());

  it.skipIf(!tmuxAvailable())(
    'keeps answering keys and catches up (the host unknown at first: its key is shown, and recorded when accepted)',
    async () => {
      const knownHosts = path.join(dir, 'known_hosts-unknown');
      writeFileSync(knownHosts, '');
      tmux = startRun(floodRunbook(LINES), knownHosts);
      const term = tmux;

      const prompt = await term.waitFor(/Unknown host flood/, 20_000, 'the unknown host question');
      expect(prompt).toContain(sshd.hostKey('ed25519').fingerprint);
      term.keys('y');

      // Mid-flood: keys are answered while lines are still arriving. The help opens and
      // closes, and the count shown after it closed is still short of the end; PgUp scrolls.
      await term.waitFor(/[\d,]+ lines/, 20_000, 'the first lines');
      term.keys('?');
      await term.waitFor(/Keys · /, 5000, 'the key list to open mid-flood');
      term.keys('?');
      const afterHelp = await term.waitFor((s) => !/Keys · /.test(s) && /[\d,]+ lines/.test(s), 5000, 'the key list to close');
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
      const caughtUp = await term.waitFor(/100,000 lines/, 30_000, 'all 100 000 lines counted');
      expect(caughtUp).toMatch(/│100000\s/);
      expect(caughtUp).not.toMatch(/CHECKPOINT/);

      await term.waitFor(/CHECKPOINT/, 20_000, 'the checkpoint after the flood');
      term.keys('y');
      await term.waitFor(/The run completed/, 10_000);
      term.keys('q');
      expect(await term.waitForExit()).toBe(0);
      expect(readFileSync(knownHosts, 'utf8')).toContain(sshd.hostKey('ed25519').publicKey.split(' ')[1]);
    },
    90_000,
  );

  it.skipIf(!tmuxAvailable())(
    'redraws the screen at most ~20 times a second while a flood runs and no key is pressed',
    async () => {
      const lines = 2 * LINES;
      const knownHosts = path.join(dir, 'known_hosts-known');
      writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`);
      tmux = startRun(floodRunbook(lines), knownHosts);
      const term = tmux;

      // Every byte written to the terminal for three seconds of the flood, which is still
      // running at the end of them.
      await term.waitFor(/[\d,]+ lines/, 20_000, 'the first lines');
      const recording = await term.recordOutput();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await recording.stop();
      expect(countOf(term.screen())).toBeLessThan(lines);

      const times = frameTimes(recording);
      const seconds = (recording.chunks.at(-1)!.at - recording.chunks[0]!.at) / 1000;
      console.log(`${times.length} frames in ${seconds.toFixed(1)} s of flood; the busiest second had ${busiestSecond(times)}`);
      // The count must see frames at all (the screen keeps up with the flood) ...
      expect(times.length / seconds).toBeGreaterThanOrEqual(4);
      // ... and no second holds more than about 20 of them.
      expect(busiestSecond(times)).toBeLessThanOrEqual(22);

      const caughtUp = await term.waitFor(/200,000 lines/, 60_000, 'all 200 000 lines counted');
      expect(caughtUp).toMatch(/│200000\s/);
      await term.waitFor(/CHECKPOINT/, 20_000, 'the checkpoint after the flood');
      term.keys('y');
      await term.waitFor(/The run completed/, 10_000);
      term.keys('q');
      expect(await term.waitForExit()).toBe(0);
    },
    120_000,
  );
});
