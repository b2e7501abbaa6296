// A flood of output through the full-screen view, against OpenSSH's client printing the
// same into the same kind of terminal; the memory of the view while it lasts; keys answered
// during it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { percentile, sleep, type BenchContext, type Figure } from './figures.js';
import { MemoryWatch, PtyProgram } from './pty.js';

const FLOOD_GOAL = 1.5;
const MEMORY_GOAL_MIB = 120;
const KEY_GOAL_MS = 50;
const FLAT_GOAL = 1.1;

function floodRunbook(context: BenchContext, lines: number, command = `seq 1 ${lines}`, name = `flood-${lines}`): string {
  const file = path.join(context.work, `${name}.yaml`);
  writeFileSync(
    file,
    `name: Flood
hosts:
  flood: {}
phases:
  - name: print
    steps:
      - run: ${JSON.stringify(command)}
        host: flood
        title: Print the numbers
`,
  );
  return file;
}

function nightshiftRun(context: BenchContext, runbook: string, stateDir = mkdtempSync(path.join(context.work, 'state-'))): PtyProgram {
  return new PtyProgram(`${context.bin} run ${runbook} --ssh-config ${context.sshConfig} --known-hosts ${context.knownHosts}`, {
    cwd: context.root,
    env: { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
  });
}

/** The lines the session recorded for its one step: a fast run that lost lines would be no result. */
function linesRecorded(stateDir: string): number {
  const sessions = path.join(stateDir, 'sessions');
  const [id] = readdirSync(sessions);
  const journal = readFileSync(path.join(sessions, id!, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; lines?: number });
  return journal.filter((entry) => entry.type === 'output.closed').at(-1)?.lines ?? 0;
}

async function sshFlood(context: BenchContext, lines: number): Promise<number> {
  const program = new PtyProgram(`ssh -F ${context.sshConfig} -o UserKnownHostsFile=${context.knownHosts} flood 'seq 1 ${lines}'`, {
    env: { SSH_AUTH_SOCK: '' },
  });
  const code = await program.exited;
  if (code !== 0) throw new Error(`ssh seq exited with ${code}`);
  return (performance.now() - program.startedAt) / 1000;
}

interface FloodRun {
  seconds: number;
  peakMiB: number;
  /** RSS samples (MiB) over the run, one every 250 ms. */
  samples: number[];
}

/** `lines`: what the session must have recorded; null for output without newlines, which it records in pieces. */
async function nightshiftFlood(context: BenchContext, lines: number | null, runbook = floodRunbook(context, lines ?? 0)): Promise<FloodRun> {
  const stateDir = mkdtempSync(path.join(context.work, 'state-'));
  const program = nightshiftRun(context, runbook, stateDir);
  const completed = program.next('The run completed', 30 * 60_000);
  const memory = new MemoryWatch(program);
  const at = await completed.finally(() => memory.stop());
  const { samples, peakMiB } = memory;
  program.type('q');
  const code = await program.exited;
  if (code !== 0) throw new Error(`nightshift exited with ${code} after the flood`);
  const recorded = linesRecorded(stateDir);
  // The session's log holds every byte: gigabytes the next figure may need.
  rmSync(stateDir, { recursive: true, force: true });
  if (lines !== null && recorded !== lines) throw new Error(`the session recorded ${recorded} lines, not ${lines}`);
  if (recorded === 0) throw new Error('the session recorded no output');
  return { seconds: (at - program.startedAt) / 1000, peakMiB, samples };
}

/** Growth of memory over the run: the mean of the last quarter of the samples minus the mean of the second quarter. */
function growthMiB(samples: number[]): number {
  const quarter = Math.floor(samples.length / 4);
  if (quarter === 0) return 0;
  const mean = (part: number[]) => part.reduce((sum, value) => sum + value, 0) / part.length;
  return mean(samples.slice(-quarter)) - mean(samples.slice(quarter, 2 * quarter));
}

export async function benchFlood(context: BenchContext, lines: number, bigLines: number | null): Promise<Figure[]> {
  context.log(`flood: ssh 'seq 1 ${lines}' on a pty`);
  const reference = await sshFlood(context, lines);
  context.log(`flood: the same through nightshift's full-screen view`);
  const run = await nightshiftFlood(context, lines);
  const ratio = run.seconds / reference;
  const figures: Figure[] = [
    {
      name: `flood ${(lines / 1e6).toFixed(1)} M lines, wall time`,
      value: run.seconds,
      unit: 's',
      reference: { what: 'ssh', value: reference },
      ratio,
      goal: `<= ${FLOOD_GOAL}x`,
      met: ratio <= FLOOD_GOAL,
    },
    {
      name: `flood ${(lines / 1e6).toFixed(1)} M lines, peak memory`,
      value: run.peakMiB,
      unit: 'MiB',
      goal: `<= ${MEMORY_GOAL_MIB} MiB`,
      met: run.peakMiB <= MEMORY_GOAL_MIB,
      notes: `RSS moved ${growthMiB(run.samples).toFixed(1)} MiB from the second to the last quarter of the run`,
    },
  ];
  if (bigLines !== null) {
    context.log(`flood: ${bigLines} lines, for the memory`);
    const big = await nightshiftFlood(context, bigLines);
    const growth = growthMiB(big.samples);
    figures.push({
      name: `flood ${(bigLines / 1e6).toFixed(0)} M lines, peak memory`,
      value: big.peakMiB,
      unit: 'MiB',
      reference: { what: `${(lines / 1e6).toFixed(1)} M lines`, value: run.peakMiB },
      ratio: big.peakMiB / run.peakMiB,
      // Flat: more than three times the output, about the same peak.
      goal: `<= ${MEMORY_GOAL_MIB} MiB and <= ${FLAT_GOAL}x the ${(lines / 1e6).toFixed(1)} M peak`,
      met: big.peakMiB <= MEMORY_GOAL_MIB && big.peakMiB / run.peakMiB <= FLAT_GOAL,
      notes: `${big.seconds.toFixed(1)} s; RSS moved ${growth.toFixed(1)} MiB from the second to the last quarter of the run`,
    });
  }
  return figures;
}

/** Up scrolls back one line and the panel says "scrolled back 1": the time from the key to that text on the terminal. */
async function keyLatencies(program: PtyProgram, until: Promise<unknown>, count: number): Promise<number[]> {
  let over = false;
  void until.then(() => (over = true));
  const samples: number[] = [];
  while (!over && samples.length < count) {
    const drawn = program.next('scrolled back 1', 10_000);
    const sent = performance.now();
    program.type('\x1b[A');
    const at = await drawn;
    samples.push(at - sent);
    if (process.env['BENCH_TRACE_KEYS']) process.stderr.write(`key ${(sent - program.startedAt).toFixed(0)} ${(at - sent).toFixed(1)}\n`);
    program.type('\x1b[F');
    await sleep(60 + Math.random() * 60);
  }
  return samples;
}

const KEY_SAMPLES = 200;
const KEY_RATIO_GOAL = 1.5;
const KEY_RATES = [200, 2000];

/** A step printing about `rate` lines a second until `stopFile` exists, then its real rate into `rateFile` ("lines startNs endNs"). */
function pacedCommand(rate: number, stopFile: string, rateFile: string): string {
  // sleep 0.01 and the fork around it take about 12 ms here: batches sized for 80 rounds a second.
  const batch = Math.max(1, Math.round(rate / 80));
  return `n=0; s=$(date +%s%N); while [ ! -e ${stopFile} ]; do seq 1 ${batch}; n=$((n + ${batch})); sleep 0.01; done; echo "$n $s $(date +%s%N)" > ${rateFile}`;
}

async function keysDuring(context: BenchContext, rate: number): Promise<{ samples: number[]; linesPerSecond: number }> {
  const stopFile = path.join(context.work, `stop-${rate}`);
  const rateFile = path.join(context.work, `rate-${rate}`);
  const program = nightshiftRun(context, floodRunbook(context, 0, pacedCommand(rate, stopFile, rateFile), `paced-${rate}`));
  try {
    const completed = program.next('The run completed', 30 * 60_000);
    await program.next(' lines', 60_000);
    const samples = await keyLatencies(program, completed, KEY_SAMPLES);
    writeFileSync(stopFile, '');
    await completed;
    const [lines, startNs, endNs] = readFileSync(rateFile, 'utf8').trim().split(' ').map(Number) as [number, number, number];
    return { samples, linesPerSecond: lines / ((endNs - startNs) / 1e9) };
  } finally {
    program.type('q');
    await program.exited;
  }
}

export async function benchKeys(context: BenchContext): Promise<Figure[]> {
  context.log(`keys: idle, a step that printed 100 lines and waits, ${KEY_SAMPLES} keys`);
  const idleRunbook = path.join(context.work, 'idle.yaml');
  writeFileSync(idleRunbook, 'name: Idle\nphases:\n  - name: wait\n    steps:\n      - local: seq 1 100; sleep 600\n');
  const idle = nightshiftRun(context, idleRunbook);
  await idle.next('100 lines', 30_000);
  const idleSamples = await keyLatencies(idle, new Promise(() => {}), KEY_SAMPLES);
  idle.kill();
  await idle.exited;
  const idleP99 = percentile(idleSamples, 99);

  const figures: Figure[] = [];
  for (const rate of KEY_RATES) {
    context.log(`keys: while a step prints about ${rate} lines a second, ${KEY_SAMPLES} keys`);
    const { samples, linesPerSecond } = await keysDuring(context, rate);
    const p99 = percentile(samples, 99);
    figures.push({
      name: `key latency at ${rate} lines/s, p99`,
      value: p99,
      unit: 'ms',
      reference: { what: 'idle p99', value: idleP99 },
      ratio: p99 / idleP99,
      goal: `<= ${KEY_GOAL_MS} ms and <= ${KEY_RATIO_GOAL}x idle`,
      met: p99 <= KEY_GOAL_MS && p99 / idleP99 <= KEY_RATIO_GOAL,
      notes:
        `${linesPerSecond.toFixed(0)} lines/s measured; p50 ${percentile(samples, 50).toFixed(1)} ms over ${samples.length} keys; ` +
        `idle p50 ${percentile(idleSamples, 50).toFixed(1)} ms over ${idleSamples.length}`,
    });
  }
  return figures;
}

/** What a step prints in the long-lines figures: `lines` lines of `length` characters, or (length null) one line of `bytes` with no newline. */
interface LongOutput {
  label: string;
  command: string;
  lines: number | null;
}

/**
 * Room the session's log may take in `dir`: a quarter of what is free. The host here is this
 * machine, which holds its own copy of the output until the step's result is recorded, and
 * others write to the disk too.
 */
function roomForLog(dir: string): number {
  const { bavail, bsize } = statfsSync(dir);
  return Math.floor((bavail * bsize) / 4);
}

/**
 * The outputs, each cut to fit the disk: the session's log keeps every byte (3 M lines of
 * 16,000 characters are 48 GB), and the figure says when it printed fewer lines than asked.
 */
function longOutputs(lines: number, room: number): LongOutput[] {
  const ofLength = (length: number): LongOutput => {
    const fit = Math.min(lines, Math.floor(room / length));
    const cut = fit < lines ? ` (not ${(lines / 1e6).toFixed(1)} M: ${(room / 2 ** 30).toFixed(0)} GiB for the log, a quarter of what was free)` : '';
    return {
      label: `${(fit / 1e6).toFixed(1)} M lines of ${length.toLocaleString('en')} characters${cut}`,
      command: `yes "$(head -c ${length - 1} /dev/zero | tr '\\0' x)" | head -n ${fit}`,
      lines: fit,
    };
  };
  const endless = Math.min(lines * 1000, room);
  return [
    ofLength(100),
    ofLength(1000),
    ofLength(16_000),
    { label: `one line of ${(endless / 1e9).toFixed(1)} GB, no newline`, command: `head -c ${endless} /dev/zero | tr '\\0' x`, lines: null },
  ];
}

/** The full-screen view's peak memory while a step prints long lines, and one endless line. */
export async function benchLongLines(context: BenchContext, lines: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const [index, output] of longOutputs(lines, roomForLog(context.work)).entries()) {
    context.log(`lines: ${output.label} through the full-screen view`);
    const run = await nightshiftFlood(context, output.lines, floodRunbook(context, output.lines ?? 0, output.command, `long-${index}`));
    figures.push({
      name: `peak memory, ${output.label}`,
      value: run.peakMiB,
      unit: 'MiB',
      goal: `<= ${MEMORY_GOAL_MIB} MiB`,
      met: run.peakMiB <= MEMORY_GOAL_MIB,
      notes: `${run.seconds.toFixed(1)} s; RSS moved ${growthMiB(run.samples).toFixed(1)} MiB from the second to the last quarter of the run`,
    });
  }
  return figures;
}
