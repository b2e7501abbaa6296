// Start-up: the first frame of the full-screen view against `node -e 0`, both on a pty;
// `lint` and `plan` of a shipped runbook, start to exit, against the same; and a resume of a
// session whose failed step printed a million lines, to the frame showing them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { percentile, type BenchContext, type Figure } from './figures.js';
import { PtyProgram } from './pty.js';

const START_GOAL = 3;
/** `lint` and `plan`, start to exit, against `node -e 0`. */
const CHECK_GOAL = 2;
/** A shipped runbook of 26 steps and 7 fallback steps: what a user lints. */
const SHIPPED_RUNBOOK = 'runbooks/gateway-swap.yaml';
const RESUME_GOAL_S = 0.5;
const ROUNDS = 9;

async function nodeStart(context: BenchContext): Promise<number> {
  const program = new PtyProgram(`${context.node} -e 0`);
  await program.exited;
  return (performance.now() - program.startedAt) / 1000;
}

/** A command to its exit on a pty, in seconds; it must succeed. */
async function toExit(context: BenchContext, args: string): Promise<number> {
  const program = new PtyProgram(`${context.bin} ${args}`, { cwd: context.root });
  const code = await program.exited;
  if (code !== 0) throw new Error(`nightshift ${args} exited with ${code}`);
  return (performance.now() - program.startedAt) / 1000;
}

async function firstFrame(context: BenchContext, args: string, marker: string, env: Record<string, string>): Promise<number> {
  const program = new PtyProgram(`${context.bin} ${args}`, { cwd: context.root, env: { SSH_AUTH_SOCK: '', ...env } });
  const at = await program.next(marker, 30_000);
  program.kill();
  await program.exited;
  return (at - program.startedAt) / 1000;
}

export async function benchStart(context: BenchContext): Promise<Figure[]> {
  const runbook = path.join(context.work, 'start.yaml');
  writeFileSync(runbook, 'name: Start here\nphases:\n  - name: one\n    steps:\n      - checkpoint: Ready?\n');
  const node: number[] = [];
  const frames: number[] = [];
  const lints: number[] = [];
  const plans: number[] = [];
  context.log(`start: ${ROUNDS} rounds of node -e 0, the first frame, lint and plan`);
  for (let round = 0; round < ROUNDS; round++) {
    node.push(await nodeStart(context));
    frames.push(
      await firstFrame(context, `run ${runbook}`, 'nightshift · Start here', { NIGHTSHIFT_STATE_DIR: mkdtempSync(path.join(context.work, 'state-')) }),
    );
    lints.push(await toExit(context, `lint ${SHIPPED_RUNBOOK}`));
    plans.push(await toExit(context, `plan ${SHIPPED_RUNBOOK}`));
  }
  const reference = percentile(node, 50);
  const againstNode = (name: string, times: number[], goal: number, notes?: string): Figure => {
    const median = percentile(times, 50);
    return {
      name,
      value: median * 1000,
      unit: 'ms',
      reference: { what: 'node -e 0', value: reference * 1000 },
      ratio: median / reference,
      goal: `<= ${goal}x`,
      met: median / reference <= goal,
      ...(notes !== undefined ? { notes } : {}),
    };
  };
  const shipped = `${SHIPPED_RUNBOOK}, start to exit on a pty`;
  return [
    againstNode('first frame after start (median)', frames, START_GOAL),
    againstNode('lint of a shipped runbook (median)', lints, CHECK_GOAL, shipped),
    againstNode('plan of a shipped runbook (median)', plans, CHECK_GOAL, shipped),
  ];
}

export async function benchResume(context: BenchContext, lines: number): Promise<Figure[]> {
  const stateDir = mkdtempSync(path.join(context.work, 'state-'));
  const runbook = path.join(context.work, 'resume.yaml');
  writeFileSync(runbook, `name: Resume here\nphases:\n  - name: one\n    steps:\n      - local: seq 1 ${lines}; exit 3\n        title: Print and fail\n`);
  context.log(`resume: a session whose failed step printed ${lines} lines, paused`);
  try {
    execFileSync(context.node, [context.bin, 'run', runbook, '--plain'], {
      input: 'pause\n',
      env: { ...process.env, NIGHTSHIFT_STATE_DIR: stateDir },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  } catch (error) {
    if ((error as { status?: number }).status !== 4) throw error;
  }
  const firsts: number[] = [];
  const tails: number[] = [];
  for (let round = 0; round < 5; round++) {
    const program = new PtyProgram(`${context.bin} resume`, { cwd: context.root, env: { NIGHTSHIFT_STATE_DIR: stateDir } });
    const first = program.next('nightshift · Resume here', 30_000);
    const tail = program.next(String(lines), 30_000);
    firsts.push(((await first) - program.startedAt) / 1000);
    tails.push(((await tail) - program.startedAt) / 1000);
    // Pausing again leaves the session as it was for the next round.
    program.type('p');
    const code = await program.exited;
    if (code !== 4) throw new Error(`resume exited with ${code}, not 4 (paused)`);
  }
  const value = percentile(tails, 50);
  return [
    {
      name: `resume, ${(lines / 1e6).toFixed(1)} M lines, to their tail on screen`,
      value: value * 1000,
      unit: 'ms',
      reference: { what: 'first frame', value: percentile(firsts, 50) * 1000 },
      ratio: value / percentile(firsts, 50),
      goal: `<= ${RESUME_GOAL_S * 1000} ms`,
      met: value <= RESUME_GOAL_S,
      notes: 'median of 5',
    },
  ];
}
