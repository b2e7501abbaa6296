// An upload step run by the built binary against the real sshd, through a slow link that is
// cut in the middle: the upload resumes instead of restarting, the file on the target is the
// same as the local one, and the progress lines say the bytes, the rate and the time left.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientFlags, converse, freshStateDir } from '../support/cli.js';
import { describeWithSshd, Sshd } from '../support/sshd.js';
import { TcpRelay } from '../support/tcp-relay.js';

const SIZE = 24 * 1024 * 1024;
/** The link's speed: slow enough for a transfer to last longer than the 3 s between progress lines. */
const RATE = 2_000_000;
/** "sending 26% (6.8 MB of 25.2 MB, 1.9 MB/s, 9.8s left, resumed after 6.8 MB)" */
const PROGRESS_LINE = /nightshift: sending (\d+)% \(([\d.]+) MB of 25\.2 MB, ([\d.]+) ([kM]B)\/s, ([\dhms.]+) left(, resumed after ([\d.]+) MB)?\)$/;

const megabytes = (value: string, unit: string) => Number(value) / (unit === 'kB' ? 1000 : 1);
/** "1m2s", "9.8s", "450ms" in seconds. */
function seconds(duration: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:([\d.]+)s)?(?:(\d+)ms)?$/.exec(duration);
  if (!match) throw new Error(`not a duration: ${duration}`);
  const [, h = '0', m = '0', s = '0', ms = '0'] = match;
  return Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;
}

describeWithSshd('nightshift run with an upload step over a link that is cut', () => {
  let sshd: Sshd;
  let relay: TcpRelay;
  let dir: string;

  beforeAll(async () => {
    sshd = await Sshd.start();
    relay = await TcpRelay.start(sshd.port);
    relay.limitRate(RATE, 'toServer');
    dir = mkdtempSync(path.join(tmpdir(), 'ns-upload-'));
    writeFileSync(path.join(dir, 'root.tar'), randomBytes(SIZE));
    sshd.writeClientFiles(dir, 'target', { port: relay.port });
    writeFileSync(
      path.join(dir, 'upload.yaml'),
      `name: upload\nhosts:\n  target: {}\nvars:\n  dest: ${path.join(dir, 'remote')}/\nphases:\n  - name: copy\n    steps:\n      - run: mkdir -p {{ dest }}\n        host: target\n      - upload: root.tar\n        to: "{{ dest }}"\n        host: target\n        mode: "640"\n`,
    );
  });
  afterAll(async () => {
    await relay?.close();
    await sshd?.stop();
  });

  it('resumes after the cut, verifies the sha256 on the host, and shows progress', async () => {
    let cutArmed = false;
    const run = converse(
      ['run', '--plain', path.join(dir, 'upload.yaml'), ...clientFlags(dir)],
      (line) => {
        // Once sending has begun, let about a third of the file through, then cut the link.
        if (!cutArmed && /nightshift: sending /.test(line)) {
          cutArmed = true;
          relay.cutAfterBytes(SIZE / 3, 'toServer');
        }
        return /Answer retry/.test(line) ? 'pause' : undefined;
      },
      { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
    );
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(/nightshift: hashing /);
    // Progress lines while sending: before the cut, and after it with where it resumed.
    const progress = run.lines.map((line) => PROGRESS_LINE.exec(line)).filter((match) => match !== null);
    expect(progress.length, text).toBeGreaterThanOrEqual(1);
    expect(
      progress.some((match) => match[6] !== undefined),
      text,
    ).toBe(true);
    for (const match of progress) {
      const [line, percent, done, rate, rateUnit, left] = match as unknown as string[];
      // Both rounded as printed: the percentage may be one off from the megabytes shown.
      expect(Math.abs(Number(percent) - (Number(done) / 25.2) * 100), line).toBeLessThanOrEqual(1);
      const megabytesPerSecond = megabytes(rate!, rateUnit!);
      // Measured over the last seconds of a link held to RATE: not above it by much.
      expect(megabytesPerSecond, line).toBeGreaterThan(0);
      expect(megabytesPerSecond, line).toBeLessThan((RATE / 1e6) * 1.5);
      // The time left is what is left at that rate (both as printed, so rounded).
      const expected = (25.2 - Number(done)) / megabytesPerSecond;
      expect(seconds(left!), line).toBeGreaterThan(expected * 0.8 - 0.5);
      expect(seconds(left!), line).toBeLessThan(expected * 1.2 + 0.5);
    }
    expect(text).toMatch(/the link to target dropped during the upload; reconnecting to resume it/);
    expect(text).toMatch(/, resumed after \d/);
    const local = createHash('sha256')
      .update(readFileSync(path.join(dir, 'root.tar')))
      .digest('hex');
    expect(text).toContain(`sha256 ${local} verified on the host`);
    const remote = readFileSync(path.join(dir, 'remote', 'root.tar'));
    expect(createHash('sha256').update(remote).digest('hex')).toBe(local);
  }, 120_000);
});
