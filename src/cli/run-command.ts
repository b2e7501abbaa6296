// Composition of a run: runbook, SSH hosts, session, engine, and one front-end (full-screen
// Ink or plain lines). `nightshift run`, `demo` and `resume` all come through here.
import path from 'node:path';
import { ChatHub } from '../chat/hub.js';
import { PendingHelperAccess } from '../chat/helper-access.js';
import type { Outcome } from '../engine/events.js';
import { HostPool } from '../remote/host-pool.js';
import type { ConnectOptions, RemoteInteraction } from '../remote/types.js';
import { RunbookError } from '../runbook/errors.js';
import { loadRunbook } from '../runbook/load.js';
import type { Runbook } from '../runbook/types.js';
import { terminalHideTyping } from '../runner/hidden-typing.js';
import { LineReader } from '../runner/line-reader.js';
import { askSecretPlain, plainInteraction, plainLinesPrinter, runPlain, type PlainIO, type QuestionIO } from '../runner/plain.js';
import { resolveSecrets, SecretError, SecretValues } from '../runner/secret-values.js';
import { visibleLine } from '../output/neutralize.js';
import type { RestoredMachine } from '../runner/restore.js';
import { HandOverInteraction } from '../runner/host-check.js';
import { createRun, type Run } from '../runner/run.js';
import { SessionLockedError } from '../store/lock.js';
import { rememberSession } from '../store/preferences.js';
import { readJournal } from '../store/journal.js';
import { DEFAULT_HELPER_SETTINGS, type HelperSettings } from '../store/helper-settings.js';
import { createSession, type Session, type SessionMeta } from '../store/session.js';
import { snapshotTroubleText } from '../store/snapshot.js';
import { clockIn } from '../text/clock.js';
import { outcomeSentence } from '../text/outcome.js';
import { DEFAULT_SENTINEL_PORT, type SentinelAccess } from '../runbook/types.js';
import type { HelperChannel } from './helper-channel.js';
import { Questions } from '../ui/questions.js';
import { renderTui } from '../ui/render.js';
import { problemLine } from '../text/problem-line.js';
import { EXIT } from './exit.js';

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
  helpers?: HelperSettings;
  /** Check every host before the first step (default true; --no-check). */
  check?: boolean;
}

const OUTCOME_EXIT: Record<Outcome, number> = { completed: EXIT.completed, 'fell-back': EXIT.fellBack, paused: EXIT.paused };

export async function runCommand(options: RunCommandOptions): Promise<number> {
  const runbook = await loadOrReport(options.runbookFile, options.vars, options.siteTimeZone);
  if (!runbook) return EXIT.error;
  let checked: CheckedPool | undefined;
  if (options.check !== false) {
    // Before any session exists: a run refused here leaves nothing to resume. The pool the
    // check logged in with is the run's: no passphrase is asked twice.
    const { checkBeforeRun } = await import('./check-command.js');
    const questions = new HandOverInteraction(REFUSE_QUESTIONS);
    const pool = new HostPool(runbook.hosts, { ...options.connect, phaseOrder: runbook.phaseOrder, interaction: questions });
    checked = { pool, questions };
    if (!(await checkBeforeRun(runbook, { pool, questions, io: plainIO(options, runbook) }))) {
      await pool.close();
      return EXIT.error;
    }
  }
  // Before the session exists: a secret that cannot be had leaves nothing behind.
  const secrets = await readSecrets(runbook, options);
  if (!secrets) return EXIT.error;
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
      ...(options.helpers ? { helpers: options.helpers } : {}),
    });
  } catch (error) {
    await checked?.pool.close();
    if (!(error instanceof SessionLockedError)) throw error;
    process.stderr.write(`nightshift: ${error.message}\n`);
    return EXIT.error;
  }
  return driveRun({ runbook, session, connect: options.connect, frontEnd: options, secrets, ...(checked ? { checked } : {}) });
}

/** Plain lines rather than the full-screen view: asked for, JSON, or no terminal on either end. */
function isPlain(frontEnd: FrontEndOptions): boolean {
  return frontEnd.plain || frontEnd.json || !process.stdout.isTTY || !process.stdin.isTTY;
}

let stdinLines: LineReader | null = null;
/** The plain mode's answers: one reader of stdin for the secrets asked first and every question after. */
function stdinReader(): LineReader {
  return (stdinLines ??= new LineReader(process.stdin));
}

/**
 * The runbook's secrets, read or asked (hidden) now, at every run and resume, before step
 * 1; null when one cannot be had (said on stderr). Kept in memory only.
 */
export async function readSecrets(runbook: Runbook, frontEnd: FrontEndOptions): Promise<SecretValues | null> {
  if (Object.keys(runbook.secrets).length === 0) return SecretValues.none();
  // The full-screen view takes the terminal later: the questions come before it, on a reader of their own.
  const io: QuestionIO = {
    reader: isPlain(frontEnd) ? stdinReader() : { next: () => terminalLine(process.stdin) },
    write: (text) => void process.stdout.write(text),
    json: frontEnd.json,
    ...(process.stdin.isTTY ? { hideTyping: terminalHideTyping } : {}),
  };
  try {
    return await resolveSecrets(runbook, { ask: (secret) => askSecretPlain(io, secret.name, secret.prompt) });
  } catch (error) {
    if (!(error instanceof SecretError)) throw error;
    process.stderr.write(`nightshift: ${visibleLine(error.message)}\n`);
    return null;
  }
}

/**
 * One line from the terminal, read without readline: a closed readline interface leaves
 * stdin so that the full-screen view that comes next never gets a key. What follows the
 * line in the same read is dropped (typed ahead of the full-screen view).
 */
function terminalLine(input: NodeJS.ReadStream): Promise<string | null> {
  return new Promise((resolve) => {
    let text = '';
    const done = (line: string | null) => {
      input.off('data', onData).off('end', onEnd);
      input.pause();
      resolve(line);
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const end = text.indexOf('\n');
      if (end !== -1) done(text.slice(0, end).replace(/\r$/, ''));
    };
    const onEnd = () => done(null);
    input.on('data', onData).once('end', onEnd);
  });
}

/** Where helpers reach the run on site: the runbook's sentinel section, or --site-host. */
function siteAccess(runbook: Runbook, settings: HelperSettings): SentinelAccess | null {
  const given = settings.siteHost;
  if (!given) return runbook.sentinel ?? null;
  if (!(given.host in runbook.hosts)) {
    throw new SiteHostError(`--site-host ${given.host} is not one of the runbook's hosts (${Object.keys(runbook.hosts).join(', ') || 'none'})`);
  }
  return {
    notify: 'wall',
    everyMs: 5 * 60_000,
    ...runbook.sentinel,
    host: given.host,
    port: given.port ?? runbook.sentinel?.port ?? DEFAULT_SENTINEL_PORT,
  };
}

class SiteHostError extends Error {}

/** The chat so far (resume shows it) and the upgrader present in it. */
function openChat(session: Session, runbook: Runbook, upgraderName: string) {
  const hub = new ChatHub((type, fields, at) => session.journal.append(type, fields, at));
  const earlier = readJournal(path.join(session.dir, 'journal.jsonl'))
    .filter((entry) => entry.type === 'chat.message')
    .map((entry) => entry as unknown as { from: { role: 'upgrader' | 'sentinel' | 'observer'; name: string }; text: string; at: string; tz?: string })
    .map((entry) => ({ from: entry.from, text: entry.text, at: Date.parse(entry.at), ...(entry.tz ? { tz: entry.tz } : {}) }));
  hub.restore(earlier, runbook.sites.site.tz);
  const me = hub.join({ role: 'upgrader', name: upgraderName, tz: runbook.sites.upgrader.tz });
  return { hub, me };
}

export async function loadOrReport(file: string, vars: Record<string, string>, siteTimeZone?: string): Promise<Runbook | null> {
  try {
    return await loadRunbook(file, { vars, ...(siteTimeZone !== undefined ? { siteTimeZone } : {}) });
  } catch (error) {
    if (!(error instanceof RunbookError)) throw error;
    for (const problem of error.problems) process.stderr.write(problemLine(problem));
    return null;
  }
}

/** A host pool the check before a run logged in with, and the hand-over of its questions. */
interface CheckedPool {
  pool: HostPool;
  questions: HandOverInteraction;
}

/** Until the check sets who answers: nobody is asked anything before. */
const REFUSE_QUESTIONS: RemoteInteraction = {
  confirmUnknownHostKey: async () => false,
  askPassphrase: async () => null,
  askSudoPassword: async () => null,
};

/**
 * Plain or JSON lines when asked for or when there is no terminal; null for the full-screen
 * view. On the one reader of stdin: the check before the run, the secrets and the run take
 * their answers from the same lines.
 */
function plainIO(frontEnd: FrontEndOptions, runbook: Runbook): PlainIO | null {
  if (!isPlain(frontEnd)) return null;
  return {
    reader: stdinReader(),
    write: (text: string) => void process.stdout.write(text),
    json: frontEnd.json,
    tz: runbook.sites.upgrader.tz,
    ...(process.stdin.isTTY ? { hideTyping: terminalHideTyping } : {}),
  };
}

/** Runs (or goes on with) a session's run in the chosen front-end; the exit status says how it ended. */
export async function driveRun(args: {
  runbook: Runbook;
  session: Session;
  connect: Omit<ConnectOptions, 'interaction'>;
  frontEnd: FrontEndOptions;
  restore?: RestoredMachine;
  /** The runbook's secrets (readSecrets): put into commands as they are sent, masked in everything shown or written. */
  secrets: SecretValues;
  /** The pool the check before the run logged in with: the run goes on with it, asking its own questions from now on. */
  checked?: CheckedPool;
}): Promise<number> {
  const { runbook, session, frontEnd, secrets } = args;
  // From here on nothing of the session is written with a secret in it.
  session.journal.secrets = secrets.masker;
  session.snapshots.secrets = secrets.masker;
  const write = (text: string) => void process.stdout.write(text);
  const io = plainIO(frontEnd, runbook);
  const questions = new Questions();
  const interaction: RemoteInteraction = io ? plainInteraction(io) : questions.interaction();

  if (args.checked) args.checked.questions.to = interaction;
  const hosts = args.checked?.pool ?? new HostPool(runbook.hosts, { ...args.connect, phaseOrder: runbook.phaseOrder, interaction });
  const helpers = session.meta.helpers ?? DEFAULT_HELPER_SETTINGS;
  let site: SentinelAccess | null;
  try {
    site = siteAccess(runbook, helpers);
  } catch (error) {
    if (!(error instanceof SiteHostError)) throw error;
    process.stderr.write(`nightshift: ${error.message}\n`);
    return EXIT.error;
  }
  const run = createRun({
    runbook,
    hosts,
    session,
    relaysAllowed: helpers.relay,
    secrets,
    ...(io ? { onLines: plainLinesPrinter(io) } : {}),
    ...(args.restore ? { restore: args.restore } : {}),
  });
  const chat = openChat(session, runbook, run.upgrader.name);
  chat.hub.secrets = secrets.masker;
  // A snapshot that cannot be written does not stop the run; the upgrader is told once.
  const stopTellingSnapshots = session.snapshots.onTrouble((trouble) => {
    const text = snapshotTroubleText(trouble, (at) => clockIn(runbook.sites.upgrader.tz, at, true));
    if (io) process.stderr.write(`nightshift: ${text}\n`);
    else chat.hub.tell(chat.me.id, text);
  });
  // The helper channel (ssh2 and all) loads after the first frame in the full-screen view.
  const access = new PendingHelperAccess();
  let channel: HelperChannel | null = null;
  const openChannel = async (): Promise<HelperChannel> => {
    const { openHelperChannel } = await import('./helper-channel.js');
    channel = await openHelperChannel({ run, hub: chat.hub, listen: helpers.listen, site });
    access.attach(channel);
    return channel;
  };
  if (helpers.enabled && io) {
    try {
      const opened = await openChannel();
      if (!io.json) write(`${helperLine(opened)}\n`);
    } catch (error) {
      await run.stop();
      process.stderr.write(`nightshift: cannot open the helper channel: ${(error as Error).message}\n`);
      return EXIT.error;
    }
  }
  let opening: Promise<unknown> | undefined;
  const openAfterFirstFrame = () => {
    opening = openChannel().catch((error: unknown) => {
      const message = (error as Error).message;
      session.journal.append('helper.failed', { error: message });
      chat.hub.note(`the helper channel could not open: ${message}`);
    });
  };

  if (frontEnd.banner && io && !io.json) write(`${frontEnd.banner}\n`);
  const stopOnSignal = installStopHandlers(run, { fullScreen: !io });
  let outcome: Outcome | 'interrupted';
  try {
    outcome = io
      ? await runPlain(run, io, chat)
      : await renderTui(run, questions, {
          ...(frontEnd.banner !== undefined ? { banner: frontEnd.banner } : {}),
          chat: { hub: chat.hub, me: chat.me, access: helpers.enabled ? access : null },
          ...(helpers.enabled ? { onFirstFrame: openAfterFirstFrame } : {}),
        });
  } finally {
    stopOnSignal();
    await opening;
    await (channel as HelperChannel | null)?.close();
    await run.stop();
    stopTellingSnapshots();
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

/** The line that tells a helper how to join, with the code and the key to compare. */
export function helperLine(access: HelperChannel): string {
  const state = access.state();
  return `helpers join with: ${state.joinCommand} · code ${state.code} · key ${state.fingerprint}`;
}

function resumeHint(session: Session): string {
  return `nightshift: to go on: nightshift resume ${session.id}\n`;
}

function summary(outcome: Outcome, session: Session): string {
  return `nightshift: ${outcomeSentence(outcome)}; session record: ${session.dir}\n${outcome === 'paused' ? resumeHint(session) : ''}`;
}

/**
 * SIGTERM and SIGHUP pause the run: it is saved, a detached step goes on on its host, and
 * `resume` picks it up. SIGINT stops it the same way but says so. A closed terminal (a
 * killed tmux window, a dropped ssh to the jump box) pauses it too, whichever it shows
 * first: SIGHUP, sometimes twice, writes failing with EIO or EPIPE, or the full-screen
 * view's input ending. The first of them is acted on, once; nothing is written to a
 * terminal that is gone.
 */
function installStopHandlers(run: Run, options: { fullScreen: boolean }): () => void {
  let stopping = false;
  let terminalGone = false;
  let running = true;
  const tell = (text: string) => {
    if (!terminalGone) process.stderr.write(text);
  };
  const stop = (why: string, reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    tell(`nightshift: ${why}: saving the session and stopping\n`);
    run.suspend({ role: 'nightshift', name: 'nightshift' }, reason);
    void run.stop().finally(() => {
      tell(`nightshift: session record: ${run.session.dir}\n${resumeHint(run.session)}`);
      process.exit(exitCode);
    });
  };
  const onSignal = (signal: NodeJS.Signals) => stop(signal, `received ${signal}`, signal === 'SIGINT' ? EXIT.interrupted : EXIT.paused);
  const onTerminalGone = () => {
    terminalGone = true;
    if (running) stop('the terminal closed', 'the terminal closed', EXIT.paused);
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];
  for (const signal of signals) process.on(signal, onSignal);
  process.stdout.on('error', onTerminalGone);
  process.stderr.on('error', onTerminalGone);
  // In plain mode input may end on purpose (answers piped in); a terminal's fails.
  const inputEvents = options.fullScreen ? ['end', 'error'] : process.stdin.isTTY ? ['error'] : [];
  for (const event of inputEvents) process.stdin.on(event, onTerminalGone);
  return () => {
    running = false;
    for (const signal of signals) process.off(signal, onSignal);
    for (const event of inputEvents) process.stdin.off(event, onTerminalGone);
    // The output listeners stay: a terminal that goes while the run closes must not crash it.
  };
}
