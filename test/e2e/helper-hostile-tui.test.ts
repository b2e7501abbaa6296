// Helpers who knock at the upgrader's run: the built binary full-screen in one tmux, the
// OpenSSH client of a helper in another. Whatever the helper's terminal claims or sends,
// the upgrader's keys answer and nightshift's memory stays bounded.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HelperFile } from '../../src/store/helper-file.js';
import { readJournal } from '../../src/store/journal.js';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { TmuxSession, tmuxAvailable } from '../support/tmux.js';
import { sleep, waitFor, waitForValue } from '../support/wait-for.js';
import { helperSshOptions } from '../support/helper-ssh.js';

const sshInstalled = spawnSync('ssh', ['-V']).status === 0;
const CODE = /code (\d{3}-\d{3}-\d{3})/;
/** Memory the upgrader's process may reach (peak resident set); about 110 MB is usual, the unclamped 6000x6000 screen took 3.9 GB. */
const MEMORY_BOUND_MB = 400;
/** How long a key of the upgrader's may take to show on their screen; the broken code froze it for minutes. */
const KEY_BOUND_MS = 3000;
/** A helper may send 5 messages at once, then one per 500 ms (src/chat/hub.ts): after this pause the allowance is whole again. */
const ALLOWANCE_REFILLED_MS = 3000;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

interface Upgrader {
  tmux: TmuxSession;
  sessionDir: string;
  helper: HelperFile;
  /** The pane is in chat mode, where every probe's text shows. */
  probes: number;
}

async function startUpgrader(dir: string): Promise<Upgrader> {
  const runbook = path.join(dir, 'hostile.yaml');
  writeFileSync(
    runbook,
    `name: Hostile helpers
phases:
  - name: wait
    steps:
      - checkpoint: Coffee is ready
`,
  );
  const stateDir = freshStateDir();
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  // The V8 heap is capped (with room to spare) so that the broken code, which this test
  // must catch, dies rather than taking gigabytes from the other tests on this machine.
  const tmux = TmuxSession.start([process.execPath, BIN, 'run', runbook], {
    cwd: ROOT,
    cols: 160,
    rows: 40,
    env: { NIGHTSHIFT_STATE_DIR: stateDir, NODE_OPTIONS: '--max-old-space-size=1024' },
  });
  cleanups.push(() => tmux.kill());
  const sessions = path.join(stateDir, 'sessions');
  const helperFile = await waitForValue(
    () => {
      const [session] = existsSync(sessions) ? readdirSync(sessions) : [];
      const candidate = session ? path.join(sessions, session, 'helper.json') : '';
      return candidate && existsSync(candidate) ? candidate : undefined;
    },
    { what: 'the helper channel (helper.json)', timeoutMs: 20_000, intervalMs: 50, detail: () => `the screen was:\n${tmux.screen()}` },
  );
  const helper = JSON.parse(readFileSync(helperFile, 'utf8')) as HelperFile;
  cleanups.push(() => {
    // A frozen process does not hear tmux hang up.
    try {
      process.kill(helper.pid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  await tmux.waitFor(CODE, 10_000, 'the join code');
  tmux.keys('Tab');
  await tmux.waitFor(/Message to the site/, 5000);
  return { tmux, sessionDir: path.dirname(helperFile), helper, probes: 0 };
}

/**
 * Types a fresh word into the upgrader's chat line and returns how long it took to show;
 * past ten times the bound it stops waiting and returns what it waited.
 */
async function keyLatency(upgrader: Upgrader): Promise<number> {
  const word = `k${++upgrader.probes}q`;
  const started = Date.now();
  upgrader.tmux.type(word);
  while (!upgrader.tmux.screen().includes(word) && Date.now() - started < KEY_BOUND_MS * 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

/** Peak resident set of a process in MB (VmHWM), or null once it is gone (the broken code runs out of heap). */
function peakMemoryOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Math.round(Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) / 1024);
  } catch {
    return null;
  }
}

/** The journal's entries of `type` so far. */
function journaled(upgrader: Upgrader, type: string): Array<Record<string, unknown>> {
  return readJournal(path.join(upgrader.sessionDir, 'journal.jsonl')).filter((entry) => entry.type === type) as unknown as Array<Record<string, unknown>>;
}

/** A helper's OpenSSH client in its own tmux, its known_hosts pinned to the channel's key; `before` runs in the shell first. */
function helperClient(dir: string, upgrader: Upgrader, user: string, before = ''): { tmux: TmuxSession; tty: () => string } {
  const knownHosts = path.join(dir, `known_hosts_${user}`);
  writeFileSync(knownHosts, `[127.0.0.1]:${upgrader.helper.port} ${upgrader.helper.publicKey}\n`);
  const ttyFile = path.join(dir, `tty_${user}`);
  const ssh = ['ssh', '-F', '/dev/null', ...helperSshOptions(upgrader.helper.port, knownHosts), `${user}@127.0.0.1`];
  const tmux = TmuxSession.start(['sh', '-c', `tty > '${ttyFile}'; ${before} exec "$@"`, 'sh', ...ssh], { cols: 100, rows: 30 });
  cleanups.push(() => tmux.kill());
  return { tmux, tty: () => readFileSync(ttyFile, 'utf8').trim() };
}

async function join(client: TmuxSession, upgrader: Upgrader): Promise<void> {
  await client.waitFor(/Join code/, 10_000, 'the join code prompt');
  client.type(CODE.exec(upgrader.tmux.screen())![1]!);
  client.keys('Enter');
}

describe.skipIf(!sshInstalled || !tmuxAvailable())('hostile helpers against the full-screen run', () => {
  it('a helper whose terminal claims 6000x6000, then 9000x9000, neither slows the upgrader down nor swells its memory', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-hostile-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const upgrader = await startUpgrader(dir);
    const pid = upgrader.helper.pid;
    const before = { latencyMs: await keyLatency(upgrader), peakMb: peakMemoryOf(pid) };

    // Even a watch-only observer: its pty request claims 6000x6000.
    const observer = helperClient(dir, upgrader, 'observer', 'stty rows 6000 cols 6000;');
    await join(observer.tmux, upgrader);
    await waitFor(() => journaled(upgrader, 'helper.joined').length === 1, { what: 'the observer joined (journal)' });
    const latencies: number[] = [];
    const probe = async () => {
      for (let count = 0; count < 5; count++) {
        latencies.push(await keyLatency(upgrader));
        // One frozen probe is enough to tell; the next ones would only wait as long again.
        if (latencies.at(-1)! >= KEY_BOUND_MS) return;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    };
    await probe();
    // A window change to 9000x9000: the kernel tells ssh, ssh tells nightshift.
    if (Math.max(...latencies) < KEY_BOUND_MS) {
      execFileSync('stty', ['-F', observer.tty(), 'rows', '9000', 'cols', '9000']);
      await probe();
    }
    const peakMb = peakMemoryOf(pid);
    console.log(
      `upgrader before the observer: key ${before.latencyMs} ms, peak ${before.peakMb} MB; ` +
        `with a 6000x6000 then 9000x9000 observer: keys ${latencies.join(', ')} ms, peak ${peakMb ?? '(process gone)'} MB`,
    );
    expect(Math.max(...latencies)).toBeLessThan(KEY_BOUND_MS);
    expect(peakMb).not.toBeNull();
    expect(peakMb!).toBeLessThan(MEMORY_BOUND_MB);
    await upgrader.tmux.waitFor(/on site: observer \(observer\)/, 5000, 'the observer present');
  }, 120_000);

  it("a helper pasting 20,000 lines sends one message and the upgrader's keys keep answering; too fast is refused and told; names that pass for others are refused", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-hostile-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const upgrader = await startUpgrader(dir);
    const sentinel = helperClient(dir, upgrader, 'sentinel').tmux;
    await join(sentinel, upgrader);
    await sentinel.waitFor(/you are sentinel \(sentinel\)/, 10_000, "the helper's view");
    await upgrader.tmux.waitFor(/on site: sentinel \(sentinel\)/, 10_000, 'the sentinel present');
    const messages = () => journaled(upgrader, 'chat.message').filter((entry) => (entry['from'] as { role: string }).role === 'sentinel');

    // The upgrader's keys, probed while a paste of 20,000 lines goes in.
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i + 1} of the paste`).join('\n');
    const flood = async (bracketed: boolean): Promise<{ latencies: number[]; ms: number }> => {
      const before = messages().length;
      const started = Date.now();
      sentinel.paste(`${lines}\n`, { bracketed });
      const latencies: number[] = [];
      // Until the paste is in, and a little after: typed words must show within the bound.
      while (Date.now() - started < 60_000) {
        latencies.push(await keyLatency(upgrader));
        if (latencies.at(-1)! >= KEY_BOUND_MS) break;
        if (messages().length > before && Date.now() - started > 2000) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return { latencies, ms: Date.now() - started };
    };

    const bracketed = await flood(true);
    console.log(`bracketed paste of 20,000 lines: upgrader keys ${bracketed.latencies.join(', ')} ms (max ${Math.max(...bracketed.latencies)} ms)`);
    expect(Math.max(...bracketed.latencies)).toBeLessThan(KEY_BOUND_MS);
    await waitFor(() => messages().length === 1, { what: 'the paste as one message' });
    const pasted = String(messages()[0]!['text']);
    expect(pasted.length).toBeLessThanOrEqual(500);
    expect(pasted).toMatch(/^line 1 of the paste line 2 of the paste .*… \[pasted text cut at the 500-character limit\]$/);
    await upgrader.tmux.waitFor(/sentinel \(sentinel\): line 1 of the paste line 2/, 5000, 'the paste on the upgrader screen, with the role');

    // Not marked as a paste by the terminal: it comes in bursts, gathered into as few messages.
    await sleep(ALLOWANCE_REFILLED_MS);
    const raw = await flood(false);
    console.log(
      `unmarked paste of 20,000 lines: upgrader keys ${raw.latencies.join(', ')} ms (max ${Math.max(...raw.latencies)} ms); ${messages().length - 1} messages`,
    );
    expect(Math.max(...raw.latencies)).toBeLessThan(KEY_BOUND_MS);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(messages().length - 1).toBeGreaterThanOrEqual(1);
    expect(messages().length - 1).toBeLessThanOrEqual(5);

    // Short messages faster than allowed: the first few go, the rest are refused, and the helper is told.
    await sleep(ALLOWANCE_REFILLED_MS);
    const sentBefore = messages().length;
    // Apart by more than the 50 ms that gathers a burst into one message, yet far faster
    // than one every half second: twelve in about a second and a half.
    for (let i = 1; i <= 12; i++) {
      sentinel.type(`quick ${i}`);
      sentinel.keys('Enter');
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    await sentinel.waitFor(/too fast: that was not sent/, 5000, 'the helper told they go too fast');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const quick = messages()
      .slice(sentBefore)
      .map((entry) => String(entry['text']));
    expect(quick.length).toBeGreaterThanOrEqual(5);
    expect(quick.length).toBeLessThan(12);
    expect(journaled(upgrader, 'chat.refused').some((entry) => entry['reason'] === 'too-fast')).toBe(true);
    expect(upgrader.tmux.screen()).not.toContain('too fast');

    // Names that would pass for someone else: refused, told to the helper alone.
    await sleep(ALLOWANCE_REFILLED_MS);
    for (const name of ['root', 'nightshift', 'Upgrader', `r\u200boot`]) {
      sentinel.type(`/name ${name}`);
      sentinel.keys('Enter');
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    await sentinel.waitFor(/not renamed: "root" reads as a role or as nightshift itself/, 5000, 'the refusal told to the helper');
    expect(journaled(upgrader, 'chat.renamed')).toEqual([]);
    expect(journaled(upgrader, 'chat.refused').filter((entry) => entry['reason'] === 'name')).toHaveLength(4);
    expect(upgrader.tmux.screen()).not.toContain('not renamed');
    sentinel.type('/name Mia');
    sentinel.keys('Enter');
    await upgrader.tmux.waitFor(/sentinel \(sentinel\) is now called Mia/, 5000);
    await sentinel.waitFor(/you are Mia \(sentinel\)/, 5000);
    sentinel.type('hello from Mia');
    sentinel.keys('Enter');
    await upgrader.tmux.waitFor(/Mia \(sentinel\): hello from Mia/, 5000, 'the role beside the new name');
  }, 180_000);
});
