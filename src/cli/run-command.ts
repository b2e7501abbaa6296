// Composition of a run: runbook, SSH hosts, session, engine, and one front-end (full-screen
// Ink or plain lines). `nightshift run`, `demo` and `resume` all come through here.
import type { Outcome } from '../engine/events.js';
import { HostPool } from '../remote/host-pool.js';
import type { ConnectOptions, RemoteInteraction } from '../remote/types.js';
import { formatProblem, RunbookError } from '../runbook/errors.js';
import { loadRunbook } from '../runbook/load.js';
import type { Runbook } from '../runbook/types.js';
import { LineReader } from '../runner/line-reader.js';
import { plainInteraction, plainLinesPrinter, runPlain, type PlainIO } from '../runner/plain.js';
import type { RestoredMachine } from '../runner/restore.js';
import { createRun, type Run } from '../runner/run.js';
import { SessionLockedError } from '../store/lock.js';
import { rememberSession } from '../store/preferences.js';
import { createSession, type Session, type SessionMeta } from '../store/session.js';
import { Questions } from '../ui/questions.js';
import { renderTui } from '../ui/render.js';
import { EXIT } from './usage.js';

export interface FrontEndOptions {
  plain: boolean;
  json: boolean;
  /** A line shown before the run starts (the demo says how the lab was set up). */
  banner?: string;
}

export interface RunCommandOptions extends FrontEndOptions {
  runbookFile: string;
  vars: Record<string, string>;
  connect: Omit<ConnectOptions, 'interaction'>;
  /** The site's time zone for a runbook that names no sites (preferences). */
  siteTimeZone?: string;
  /** For demo sessions: how to start the lab again on resume. */
  demo?: SessionMeta['demo'];
}

const OUTCOME_EXIT: Record<Outcome, number> = { completed: EXIT.completed, 'fell-back': EXIT.fellBack, paused: EXIT.paused };

export async function runCommand(options: RunCommandOptions): Promise<number> {
  const runbook = await loadOrReport(options.runbookFile, options.vars, options.siteTimeZone);
  if (!runbook) return EXIT.error;
  const { sshConfigFile, knownHostsFiles, keepaliveIntervalMs } = options.connect;
  let session: Session;
  try {
    session = createSession(runbook, {
      runbookFile: runbook.file,
      vars: options.vars,
      ...(options.siteTimeZone !== undefined ? { siteTimeZone: options.siteTimeZone } : {}),
      connect: {
        ...(sshConfigFile !== undefined ? { sshConfigFile } : {}),
        ...(knownHostsFiles !== undefined ? { knownHostsFiles } : {}),
        ...(keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs } : {}),
      },
      ...(options.demo ? { demo: options.demo } : {}),
    });
  } catch (error) {
    if (!(error instanceof SessionLockedError)) throw error;
    process.stderr.write(`nightshift: ${error.message}\n`);
    return EXIT.error;
  }
  return driveRun({ runbook, session, connect: options.connect, frontEnd: options });
}

export async function loadOrReport(file: string, vars: Record<string, string>, siteTimeZone?: string): Promise<Runbook | null> {
  try {
    return await loadRunbook(file, { vars, ...(siteTimeZone !== undefined ? { siteTimeZone } : {}) });
  } catch (error) {
    if (!(error instanceof RunbookError)) throw error;
    for (const problem of error.problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return null;
  }
}

/** Runs (or goes on with) a session's run in the chosen front-end; the exit status says how it ended. */
export async function driveRun(args: {
  runbook: Runbook;
  session: Session;
  connect: Omit<ConnectOptions, 'interaction'>;
  frontEnd: FrontEndOptions;
  restore?: RestoredMachine;
}): Promise<number> {
  const { runbook, session, frontEnd } = args;
  const plain = frontEnd.plain || frontEnd.json || !process.stdout.isTTY || !process.stdin.isTTY;
  const write = (text: string) => void process.stdout.write(text);
  const io: PlainIO | null = plain
    ? { reader: new LineReader(process.stdin), write, json: frontEnd.json, tz: runbook.sites.upgrader.tz }
    : null;
  const questions = new Questions();
  const interaction: RemoteInteraction = io ? plainInteraction(io) : questions.interaction();

  const hosts = new HostPool(runbook.hosts, { ...args.connect, phaseOrder: runbook.phaseOrder, interaction });
  const run = createRun({
    runbook,
    hosts,
    session,
    ...(io ? { onLines: plainLinesPrinter(io) } : {}),
    ...(args.restore ? { restore: args.restore } : {}),
  });

  if (frontEnd.banner && io && !io.json) write(`${frontEnd.banner}\n`);
  const stopOnSignal = installSignalHandlers(run);
  let outcome: Outcome | 'interrupted';
  try {
    outcome = io
      ? await runPlain(run, io)
      : await renderTui(run, questions, frontEnd.banner !== undefined ? { banner: frontEnd.banner } : {});
  } finally {
    stopOnSignal();
    await run.stop();
  }
  if (outcome === 'interrupted') {
    process.stderr.write(`nightshift: stopped; the journal is in ${session.dir}\n${resumeHint(session)}`);
    return EXIT.interrupted;
  }
  if (!io?.json) process.stderr.write(summary(outcome, session));
  await rememberSession(session.id).catch((error: unknown) =>
    process.stderr.write(`nightshift: could not note the session among the recent ones: ${(error as Error).message}\n`),
  );
  return OUTCOME_EXIT[outcome];
}

function resumeHint(session: Session): string {
  return `nightshift: to go on: nightshift resume ${session.id}\n`;
}

function summary(outcome: Outcome, session: Session): string {
  const what =
    outcome === 'completed' ? 'the run completed' : outcome === 'fell-back' ? 'the run ended after the fallback' : 'the run is paused';
  return `nightshift: ${what}; session record: ${session.dir}\n${outcome === 'paused' ? resumeHint(session) : ''}`;
}

/**
 * SIGTERM and SIGHUP (a closed terminal) pause the run: it is saved, a detached step goes
 * on on its host, and `resume` picks it up. SIGINT stops it the same way but says so.
 */
function installSignalHandlers(run: Run): () => void {
  const handler = (signal: NodeJS.Signals) => {
    process.stderr.write(`nightshift: ${signal}: saving the session and stopping\n`);
    run.suspend({ role: 'nightshift', name: 'nightshift' }, `received ${signal}`);
    void run.stop().finally(() => {
      process.stderr.write(`nightshift: session record: ${run.session.dir}\n${resumeHint(run.session)}`);
      process.exit(signal === 'SIGINT' ? EXIT.interrupted : EXIT.paused);
    });
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
