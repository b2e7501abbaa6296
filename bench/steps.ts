// Per-step costs stay linear: a runbook of 2,000 steps against ten times one of 200, each
// step a `local: true` (no host, so what is measured is nightshift's own work per step: the
// machine's change, the saved snapshot, the journal, starting the command), `run --plain`
// from start to exit, with the peak memory of each.
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { percentile, type BenchContext, type Figure } from './figures.js';
import { runMeasured } from './measured.js';

const LINEAR_GOAL = 2;
const MEMORY_GOAL_MIB = 120;
const SMALL_ROUNDS = 3;
const TIMEOUT_MS = 15 * 60_000;

function runbookOf(context: BenchContext, steps: number): string {
  const file = path.join(mkdtempSync(path.join(context.work, 'steps-')), `steps-${steps}.yaml`);
  writeFileSync(file, `name: ${steps} steps\nphases:\n  - name: one\n    steps:\n${"      - local: 'true'\n".repeat(steps)}`);
  return file;
}

async function timedRun(context: BenchContext, steps: number): Promise<{ seconds: number; peakMiB: number }> {
  const run = await runMeasured([context.bin, 'run', runbookOf(context, steps), '--plain'], {
    cwd: context.root,
    env: { NIGHTSHIFT_STATE_DIR: mkdtempSync(path.join(context.work, 'state-')) },
    timeoutMs: TIMEOUT_MS,
  });
  if (run.code !== 0 || !run.tail.includes('the run completed'))
    throw new Error(`nightshift run --plain (${steps} steps) exited with ${run.code}:\n${run.tail}`);
  return run;
}

export async function benchSteps(context: BenchContext, quick: boolean): Promise<Figure[]> {
  const small = quick ? 50 : 200;
  const large = small * 10;
  context.log(`steps: ${SMALL_ROUNDS} runs of ${small} local steps, one of ${large}`);
  const smallRuns = [];
  for (let round = 0; round < SMALL_ROUNDS; round++) smallRuns.push(await timedRun(context, small));
  const largeRun = await timedRun(context, large);
  const reference =
    10 *
    percentile(
      smallRuns.map((run) => run.seconds),
      50,
    );
  const smallPeak = Math.max(...smallRuns.map((run) => run.peakMiB));
  return [
    {
      name: `${large} steps vs 10 x ${small}, run --plain`,
      value: largeRun.seconds,
      unit: 's',
      reference: { what: `10 x the ${small}-step run`, value: reference },
      ratio: largeRun.seconds / reference,
      goal: `<= ${LINEAR_GOAL}x`,
      met: largeRun.seconds / reference <= LINEAR_GOAL,
      notes: `each step local: true; ${small} steps ${smallRuns.map((run) => run.seconds.toFixed(1)).join(' ')} s (median of ${SMALL_ROUNDS}); ${((largeRun.seconds / large) * 1000).toFixed(1)} ms a step at ${large}, ${((reference / 10 / small) * 1000).toFixed(1)} at ${small}`,
    },
    {
      name: `peak memory, ${large} steps`,
      value: largeRun.peakMiB,
      unit: 'MiB',
      reference: { what: `${small} steps`, value: smallPeak },
      ratio: largeRun.peakMiB / smallPeak,
      goal: `<= ${MEMORY_GOAL_MIB} MiB`,
      met: largeRun.peakMiB <= MEMORY_GOAL_MIB,
      notes: 'plain mode',
    },
  ];
}
