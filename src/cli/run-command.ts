// Composition of a run: runbook, SSH hosts, session, engine, and one front-end (full-screen
// Ink or plain lines). `nightshift run` and `nightshift demo` both come through here.
import type { Outcome } from '../engine/events.js';
import { HostPool } from '../remote/host-pool.js';
import type { ConnectOptions, RemoteInteraction } from '../remote/types.js';
import { formatProblem, RunbookError } from '../runbook/errors.js';
import { loadRunbook } from '../runbook/load.js';
import type { Runbook } from '../runbook/types.js';
import { LineReader } from '../runner/line-reader.js';
import { plainInteraction, plainLinesPrinter, runPlain, type PlainIO } from '../runner/plain.js';
import { createRun, type Run } from '../runner/run.js';
import { createSession } from '../store/session.js';
import { Questions } from '../ui/questions.js';
import { renderTui } from '../ui/render.js';
import { EXIT } from './usage.js';

export interface RunCommandOptions {
  runbookFile: string;
  vars: Record<string, string>;
  plain: boolean;
  json: boolean;
  connect: Omit<ConnectOptions, 'interaction'>;
  /** A line shown before the run starts (the demo says how the lab was set up). */
  banner?: string;
}

const OUTCOME_EXIT: Record<Outcome, number> = { completed: EXIT.completed, 'fell-back': EXIT.fellBack, paused: EXIT.paused };

export async function runCommand(options: RunCommandOptions): Promise<number> {
  let runbook: Runbook;
  try {
    runbook = await loadRunbook(options.runbookFile, { vars: options.vars });
  } catch (error) {
    if (!(error instanceof RunbookError)) throw error;
    for (const problem of error.problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return EXIT.error;
  }

  const plain = options.plain || options.json || !process.stdout.isTTY || !process.stdin.isTTY;
  const write = (text: string) => void process.stdout.write(text);
  const io: PlainIO | null = plain
    ? { reader: new LineReader(process.stdin), write, json: options.json, tz: runbook.sites.upgrader.tz }
    : null;
  const questions = new Questions();
  const interaction: RemoteInteraction = io ? plainInteraction(io) : questions.interaction();

  const hosts = new HostPool(runbook.hosts, { ...options.connect, phaseOrder: runbook.phaseOrder, interaction });
  const session = createSession(runbook);
  const run = createRun({ runbook, hosts, session, ...(io ? { onLines: plainLinesPrinter(io) } : {}) });

  if (options.banner && io && !io.json) write(`${options.banner}\n`);
  const stopOnSignal = installSignalHandlers(run);
  let outcome: Outcome | 'interrupted';
  try {
    outcome = io
      ? await runPlain(run, io)
      : await renderTui(run, questions, options.banner !== undefined ? { banner: options.banner } : {});
  } finally {
    stopOnSignal();
    await run.stop();
  }
  if (outcome === 'interrupted') {
    process.stderr.write(`nightshift: stopped; the journal is in ${session.dir}\n`);
    return EXIT.interrupted;
  }
  if (!io?.json) process.stderr.write(summary(outcome, session.dir));
  return OUTCOME_EXIT[outcome];
}

function summary(outcome: Outcome, dir: string): string {
  const what =
    outcome === 'completed' ? 'the run completed' : outcome === 'fell-back' ? 'the run ended after the fallback' : 'the run is paused';
  return `nightshift: ${what}; session record: ${dir}\n`;
}

/** SIGTERM and SIGHUP (a closed terminal) stop the run cleanly so the journal says so. */
function installSignalHandlers(run: Run): () => void {
  const handler = (signal: NodeJS.Signals) => {
    process.stderr.write(`nightshift: ${signal}: stopping\n`);
    void run.stop().finally(() => process.exit(signal === 'SIGINT' ? EXIT.interrupted : 128 + (signal === 'SIGHUP' ? 1 : 15)));
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
