// `npm run bench`: see USAGE below, or `npm run bench -- --help`.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, hostname, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Sshd, type SshdOptions } from '../test/support/sshd.js';
import { restoreAutogroupsOf } from './autogroup.js';
import { benchFleet } from './fleet.js';
import { benchIdle } from './idle.js';
import { benchFlood, benchKeys, benchLongLines } from './flood.js';
import { benchResume, benchStart } from './start.js';
import { benchSteps } from './steps.js';
import { benchUpload } from './upload.js';
import { benchWan } from './wan.js';
import type { BenchContext, Figure } from './figures.js';
import { formatFigure } from './figures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CIPHER = 'aes128-gcm@openssh.com';

const USAGE = `npm run bench [-- OPTIONS]: nightshift's budgets measured against references run in
the same minutes on the same machine, printed as ratios and written to bench/results/.

Benchmarks (all by default, in this order):
  flood     N lines through the full-screen view on a pty vs \`ssh host 'seq 1 N'\` on a pty
  lines     peak memory of the full-screen view for N lines of 100, 1,000 and 16,000 characters
            and for one line of N thousand characters with no newline
  keys      a key's effect on screen while a step prints 200 and 2,000 lines a second (p99 of
            200 keys) vs the same key when idle
  upload    1 GiB over SFTP vs OpenSSH sftp, same cipher; the peak memory of the full-screen view during it
  idle      CPU and wake-ups of the full-screen view waiting at a checkpoint
  start     first frame of the full-screen view, and lint and plan of a shipped runbook, vs \`node -e 0\`
  resume    resume of a session whose step printed 1 M lines, to the frame showing its tail
  steps     2,000 local steps against 10 x 200, run --plain: the per-step cost stays linear
  wan       over a 180 ms link at 20 and 200 Mbit/s (wan-link.ts): upload vs sftp, a one-step
            run vs ssh, the same through a ProxyJump vs ssh -J, output again after a silence
  fleet     one for_each phase over 200 hosts vs \`ssh\` to each with \`xargs -P 20\`; peak
            memory; keys answered while the 200 outputs stream

Options:
  --only NAME[,NAME]  run only these benchmarks (results in bench/results/latest-NAME-....json)
  --quick             smaller sizes, for a try (results in ...-quick.json)
  --lines N           lines of the flood (default 3,000,000)
  --hosts N           hosts of the fleet (default 200)
  --help              this text

For experiments: BENCH_UPLOAD_IN_FLIGHT and BENCH_UPLOAD_CHUNK override the upload's tuning,
BENCH_TRACE_KEYS=1 prints every key's latency with its moment in the run.
Interrupted, a bench stops what it started; killed outright, the next one cleans up after it.`;
const BENCHES = ['flood', 'lines', 'keys', 'upload', 'idle', 'start', 'resume', 'steps', 'wan', 'fleet'];

function parsedOptions() {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        lines: { type: 'string' },
        hosts: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
}

const values = parsedOptions();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const unknown = (values.only?.split(',') ?? []).filter((name) => !BENCHES.includes(name));
for (const [option, value] of [
  ['--lines', values.lines],
  ['--hosts', values.hosts],
] as const) {
  if (value !== undefined && !(Number.isInteger(Number(value)) && Number(value) > 0)) {
    process.stderr.write(`bench: ${option} takes a whole number above 0, not ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
}
if (unknown.length > 0) {
  process.stderr.write(`bench: no benchmark named ${unknown.join(', ')}; there are ${BENCHES.join(', ')}\n`);
  process.exit(2);
}
const quick = values.quick ?? false;
const only = values.only ? new Set(values.only.split(',')) : null;
const wanted = (name: string) => only === null || only.has(name);

async function main(): Promise<void> {
  removeKilledBenches();
  const work = mkdtempSync(path.join(tmpdir(), 'ns-bench-'));
  writeFileSync(path.join(work, 'pid'), `${process.pid}\n`);
  const servers: Sshd[] = [];
  cleanUpWhenStopped(servers, work);
  const startSshd = async (options: SshdOptions) => {
    const server = await Sshd.start(options);
    servers.push(server);
    appendFileSync(path.join(work, 'sshd-dirs'), `${server.dir}\n`);
    return server;
  };
  const sshd = await startSshd({ extraConfig: [`Ciphers ${CIPHER}`] });
  const sshConfig = path.join(work, 'ssh_config');
  const knownHosts = path.join(work, 'known_hosts');
  writeFileSync(
    sshConfig,
    `Host flood\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.clientKey.privateKeyFile}\n  Ciphers ${CIPHER}\n  IdentitiesOnly yes\n`,
  );
  writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`);
  const context: BenchContext = {
    root: ROOT,
    bin: path.join(ROOT, 'bin/nightshift.js'),
    node: process.execPath,
    work,
    sshConfig,
    knownHosts,
    cipher: CIPHER,
    log: (text) => process.stderr.write(`  ${text}\n`),
    startSshd,
  };

  const lines = Number(values.lines ?? (quick ? 300_000 : 3_000_000));
  const figures: Figure[] = [];
  const record = (figure: Figure) => {
    figures.push(figure);
    process.stdout.write(`${formatFigure(figure)}\n`);
  };
  try {
    process.stdout.write(`nightshift bench on ${hostname()} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB), node ${process.version}\n`);
    if (wanted('flood')) for (const figure of await benchFlood(context, lines, quick ? null : 10_000_000)) record(figure);
    if (wanted('lines')) for (const figure of await benchLongLines(context, quick ? 300_000 : lines)) record(figure);
    if (wanted('keys')) for (const figure of await benchKeys(context)) record(figure);
    if (wanted('upload')) for (const figure of await benchUpload(context, quick ? 256 * 2 ** 20 : 2 ** 30)) record(figure);
    if (wanted('idle')) for (const figure of await benchIdle(context)) record(figure);
    if (wanted('start')) for (const figure of await benchStart(context)) record(figure);
    if (wanted('resume')) for (const figure of await benchResume(context, quick ? 200_000 : 1_000_000)) record(figure);
    if (wanted('steps')) for (const figure of await benchSteps(context, quick)) record(figure);
    if (wanted('wan')) for (const figure of await benchWan(context, quick)) record(figure);
    if (wanted('fleet')) for (const figure of await benchFleet(context, Number(values.hosts ?? 200), quick ? 1 : 3)) record(figure);
  } finally {
    await sshd.stop();
    removeHostRunFolders(work);
    rmSync(work, { recursive: true, force: true });
  }

  const results = path.join(ROOT, 'bench/results');
  mkdirSync(results, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const report = {
    at: new Date().toISOString(),
    host: hostname(),
    cores: cpus().length,
    node: process.version,
    commit: gitCommit(),
    quick,
    figures,
  };
  writeFileSync(path.join(results, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  // A whole run is latest.json; a run of some parts (or a quick one) keeps its own latest file
  // beside it, and leaves the whole run's figures as they were.
  const latest = only === null && !quick ? 'latest.json' : `latest-${[...(only ?? ['all'])].sort().join('-')}${quick ? '-quick' : ''}.json`;
  writeFileSync(path.join(results, latest), `${JSON.stringify(report, null, 2)}\n`);
  const missed = figures.filter((figure) => figure.met === false);
  process.stdout.write(`\n${figures.length - missed.length} of ${figures.length} goals met; results in bench/results/${stamp}.json and ${latest}\n`);
  process.stdout.write(`(${readdirSync(results).filter((name) => !name.startsWith('latest')).length} result files kept)\n`);
}

/**
 * Stopped half way (Ctrl-C, a closed terminal, kill): the sshd instances, every program the bench started
 * and its files (a 1 GiB upload among them) go too, instead of being left running and lying about.
 */
function cleanUpWhenStopped(servers: Sshd[], work: string): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}: stopping sshd and the programs under test, removing ${work}\n`);
      for (const pid of descendantsOf(process.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      void Promise.allSettled(servers.map((server) => server.stop())).finally(() => {
        removeHostRunFolders(work);
        rmSync(work, { recursive: true, force: true });
        process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
      });
    });
  }
}

/**
 * A bench killed outright (SIGKILL) took its sshd instances and programs with it (they die
 * with their parent) but left its folder and sshd's: the next bench removes those whose
 * bench is gone.
 */
function removeKilledBenches(): void {
  for (const name of readdirSync(tmpdir()).filter((entry) => entry.startsWith('ns-bench-'))) {
    const dir = path.join(tmpdir(), name);
    let pid: number;
    try {
      pid = Number(readFileSync(path.join(dir, 'pid'), 'utf8'));
    } catch {
      continue;
    }
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
    restoreAutogroupsOf(dir);
    removeHostRunFolders(dir);
    const sshdDirs = path.join(dir, 'sshd-dirs');
    for (const line of existsSync(sshdDirs) ? readFileSync(sshdDirs, 'utf8').split('\n').filter(Boolean) : []) {
      if (line.startsWith(path.join(tmpdir(), 'ns-sshd-'))) rmSync(line, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The hosts of the bench are this machine, as this user: a run that did not end as it should
 * (a failed figure, a kill) leaves its steps' output in its run folder there, a flood's
 * gigabytes among them. Those of the bench's sessions go with the bench.
 */
function removeHostRunFolders(work: string): void {
  const uid = process.getuid?.() ?? 0;
  const runFolders = [path.join(homedir(), '.local/state/nightshift/runs'), `/var/tmp/nightshift-${uid}/runs`, `/tmp/nightshift-${uid}/runs`];
  let entries: string[];
  try {
    entries = readdirSync(work);
  } catch {
    return;
  }
  // Every state folder of a run the bench started (state-*, idle-state) holds its sessions.
  for (const sessions of entries.map((name) => path.join(work, name, 'sessions')).filter((folder) => existsSync(folder))) {
    for (const id of readdirSync(sessions)) {
      if (!/^\d{8}-\d{6}-[0-9a-f]+$/.test(id)) continue;
      for (const folder of runFolders) rmSync(path.join(folder, id), { recursive: true, force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function descendantsOf(pid: number): number[] {
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
