// Idle at a checkpoint: the full-screen view waits for the upgrader, its clocks ticking. What
// it costs a laptop on battery at 3 AM: the share of a core it uses, and how often it wakes
// (voluntary context switches a second), over a quiet stretch.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sleep, type BenchContext, type Figure } from './figures.js';
import { PtyProgram } from './pty.js';

const IDLE_CPU_GOAL_PERCENT = 0.5;
const QUIET_SECONDS = 30;
/** A wait counts seconds on screen for its first minute, then minutes: the long wait of a checkpoint at 3 AM is measured. */
const SETTLE_SECONDS = 62;
/** Clock ticks a second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

function cpuTicks(pid: number): number {
  // The fields after the command name, which may hold spaces, start after its closing parenthesis.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function voluntarySwitches(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
}

export async function benchIdle(context: BenchContext): Promise<Figure[]> {
  const runbook = path.join(context.work, 'idle-checkpoint.yaml');
  writeFileSync(runbook, 'name: Idle here\nphases:\n  - name: one\n    steps:\n      - local: seq 1 20\n      - checkpoint: Is the new disk in?\n');
  context.log(`idle: the full-screen view at a checkpoint, ${QUIET_SECONDS} s after its first minute`);
  const program = new PtyProgram(`${context.bin} run ${runbook}`, {
    cwd: context.root,
    env: { NIGHTSHIFT_STATE_DIR: path.join(context.work, 'idle-state'), SSH_AUTH_SOCK: '' },
  });
  try {
    await program.next('Is the new disk in?', 30_000);
    await sleep(SETTLE_SECONDS * 1000);
    const pid = program.programPid();
    if (pid === null) throw new Error('idle: the program under test was not found');
    const ticks = cpuTicks(pid);
    const switches = voluntarySwitches(pid);
    const started = performance.now();
    await sleep(QUIET_SECONDS * 1000);
    const seconds = (performance.now() - started) / 1000;
    const percent = ((cpuTicks(pid) - ticks) / TICKS_PER_SECOND / seconds) * 100;
    const wakeups = (voluntarySwitches(pid) - switches) / seconds;
    return [
      {
        name: 'idle at a checkpoint, CPU',
        value: percent,
        unit: '% of a core',
        goal: `<= ${IDLE_CPU_GOAL_PERCENT} %`,
        met: percent <= IDLE_CPU_GOAL_PERCENT,
        notes: `${wakeups.toFixed(1)} wake-ups a second of its main thread, over ${QUIET_SECONDS} s after the wait's first minute`,
      },
    ];
  } finally {
    program.kill();
    await program.exited;
  }
}
