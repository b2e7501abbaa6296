// The upgrader's own disk fills up during a run (here: the session folder is a 2 MB tmpfs in a
// mount namespace of its own, and a step prints 3 MB). nightshift must not die on a write: the
// step's log stops and the screen says so, the journal keeps its entries until it can take
// them, and once a step has freed the space every entry is in the journal, in order.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readJournal } from '../../src/store/journal.js';
import { BIN, converse } from '../support/cli.js';

const canMount =
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!canMount)("a full disk on the upgrader's side", () => {
  it('the run goes on, the log says where it stopped, and the journal is whole once space is back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ns-disk-full-'));
    const stateDir = path.join(dir, 'state');
    const copied = path.join(dir, 'copied');
    const runbook = path.join(dir, 'full.yaml');
    // The first step's log fills the disk; a file fills what is left; twenty steps on the
    // full disk make more journal entries than the journal's last page had room for.
    const whileFull = Array.from({ length: 20 }, (_, index) => `      - local: echo ran on a full disk ${index + 1}\n        id: full-${index + 1}\n`).join('');
    writeFileSync(
      runbook,
      `name: Full disk
phases:
  - name: only
    steps:
      - local: head -c 3000000 /dev/zero | tr '\\0' x | fold -w 100
        id: fill
      - local: head -c 3000000 /dev/zero > "$NIGHTSHIFT_STATE_DIR/filler"; echo filled up
        id: filler
${whileFull}      - local: rm "$NIGHTSHIFT_STATE_DIR/filler" && find "$NIGHTSHIFT_STATE_DIR" -name '*.log' -size +100k -delete && echo freed the space
        id: free
      - local: echo ran after the space came back
        id: last
`,
    );
    // The tmpfs lives as long as the namespace: the journal is copied out before it goes.
    const wrapper = `mkdir -p "$0" "$1" && mount -t tmpfs -o size=2m tmpfs "$0" && shift && { "$@"; status=$?; }; find ${JSON.stringify(stateDir)} -name journal.jsonl -exec cp {} ${JSON.stringify(copied)}/ \\; ; exit $status`;
    const run = converse(['run', runbook, '--plain', '--no-helpers'], () => undefined, { NIGHTSHIFT_STATE_DIR: stateDir }, [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      wrapper,
      stateDir,
      copied,
      process.execPath,
      BIN,
    ]);
    onTestFinished(() => {
      run.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    const code = await run.closed;
    const said = `${run.lines.join('\n')}\n${run.stderr()}`;
    expect(code, said).toBe(0);

    // The log of the filling step stopped, said once on its output; the steps after it ran.
    expect(run.lines.filter((line) => /nightshift: the log .*\/fill\.1\.log stopped at \d+ bytes \(no space left on the device\)/.test(line))).toHaveLength(1);
    expect(said).toContain('ran on a full disk 20');
    expect(said).toContain('freed the space');
    expect(said).toContain('ran after the space came back');

    // The journal's trouble and its end were said once each.
    const stderrLines = run.stderr().split('\n');
    expect(stderrLines.filter((line) => line.startsWith('nightshift: could not write the journal') && line.includes('ENOSPC'))).toHaveLength(1);
    expect(stderrLines.filter((line) => /nightshift: the journal .* is written again \(\d+ entries it had kept are in it now\)/.test(line))).toHaveLength(1);

    const journals = readdirSync(copied);
    expect(journals).toEqual(['journal.jsonl']);
    const entries = readJournal(path.join(copied, 'journal.jsonl'));
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
    const steps = entries.filter((entry) => entry.type === 'step.finished').map((entry) => String(entry['stepId']));
    expect(steps).toEqual(['fill', 'filler', ...Array.from({ length: 20 }, (_, index) => `full-${index + 1}`), 'free', 'last']);
    expect(entries.map((entry) => entry.type).slice(-2)).toEqual(['run.finished', 'session.closed']);
  });
});
