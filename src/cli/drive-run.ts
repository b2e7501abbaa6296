// A session's run driven to its end: hosts, engine, chat and helper channel, and one front-end
// (full-screen Ink or plain lines). Loaded while the check before the run waits on the hosts.
import path from 'node:path';
import { ChatHub, type Participant } from '../chat/hub.js';
import { PendingHelperAccess } from '../chat/helper-access.js';
import type { Outcome } from '../engine/events.js';
import type { GoingAgain } from '../engine/going-again.js';
import { HostPool } from '../remote/host-pool.js';
import type { ConnectOptions, RemoteInteraction } from '../remote/types.js';
import { DEFAULT_SENTINEL_PORT, type Runbook, type SentinelAccess } from '../runbook/types.js';
import type { HandOverInteraction } from '../runner/host-check.js';
import type { RestoredMachine } from '../runner/restore.js';
import { createRun, type Run } from '../runner/run.js';
import type { SecretValues } from '../runner/secret-values.js';
import { DEFAULT_HELPER_SETTINGS, type HelperSettings } from '../store/helper-settings.js';
import { journalTroubleText, readJournal } from '../store/journal.js';
import { SessionLockedError } from '../store/lock.js';
import { createSession, type Session, type SessionMeta } from '../store/session.js';
import { snapshotTroubleText } from '../store/snapshot.js';
import { visibleLine } from '../output/neutralize.js';
import { clockIn } from '../text/clock.js';
import { counted } from '../text/counted.js';
import { outcomeSentence } from '../text/outcome.js';
import { guardLeftArmedText } from '../text/revert.js';
import { pausedStepText } from '../text/steps.js';
import { plainInteraction, plainLinesPrinter, runPlain, type PlainIO } from '../ui/plain/plain.js';
import { showUnfinishedLines } from '../ui/plain/unfinished-line.js';
import { Questions } from '../ui/questions.js';
import { noteRunEvents } from './chat-run-notes.js';
import { EXIT } from './exit.js';
import { fullScreenViewCode, plainIO, type FrontEndOptions } from './front-end.js';
import { keepHeapNearLive } from './heap-growth.js';
import type { HelperChannel } from './helper-channel.js';
import type { HostSelection } from '../runbook/fleet-settings.js';
import { selfCommand } from './self-command.js';
import { UserError } from './user-error.js';

/** A host pool the check before a run logged in with, and the hand-over of its questions. */
export interface CheckedPool {
  pool: HostPool;
  questions: HandOverInteraction;
}

const OUTCOME_EXIT: Record<Outcome, number> = { completed: EXIT.completed, 'fell-back': EXIT.fellBack, paused: EXIT.paused };

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
  /** Going again: where the run starts, and the session that did the steps before (a resume passes the one it started with). */
  again?: GoingAgain;
}): Promise<number> {
  const { runbook, session, frontEnd, secrets } = args;
  // From here on nothing of the session is written with a secret in it.
  session.journal.secrets = secrets.masker;
  session.snapshots.secrets = secrets.masker;
  const io = plainIO(frontEnd, runbook);
  const questions = new Questions();
  const interaction: RemoteInteraction = io ? plainInteraction(io) : questions.interaction();
  const helpers = session.meta.helpers ?? DEFAULT_HELPER_SETTINGS;
  const site = siteAccess(runbook, helpers);

  if (args.checked) args.checked.questions.to = interaction;
  const hosts = args.checked?.pool ?? new HostPool(runbook.hosts, { ...args.connect, phaseOrder: runbook.phaseOrder, interaction });
  const run = createRun({
    runbook,
    hosts,
    session,
    relaysAllowed: helpers.relay,
    secrets,
    ...(io ? { onLines: plainLinesPrinter(io) } : {}),
    ...(args.restore ? { restore: args.restore } : {}),
    ...(args.again ? { again: args.again } : {}),
  });
  const chat = openChat(session, runbook, run.upgrader.name);
  chat.hub.secrets = secrets.masker;
  // In the full-screen view the chat panel is where the site reads what happened; plain mode says it in its own lines.
  // In plain mode the upgrader's own lines say the run's events; the helpers read them in the chat.
  const stopRunNotes = noteRunEvents(run, chat.hub, io ? chat.me.id : undefined);
  const stopTellingSnapshots = tellSnapshotTrouble(session, runbook, io ? null : chat);
  const channel = helperChannelOf(run, chat.hub, helpers, site);
  if (helpers.enabled && io) await channel.openBeforeRun(io);

  if (frontEnd.banner && io && !io.json) io.write(`${frontEnd.banner}\n`);
  // A resume inside a guard's block: the hosts kept their own deadline meanwhile.
  const armed = args.restore ? run.guards.active() : null;
  if (armed && io && !io.json) io.write(`nightshift: ${guardLeftArmedText(armed, runbook.sites, Date.now(), true)}\n`);
  const stopShowingUnfinished =
    io && !io.json && process.stdout.isTTY ? showUnfinishedLines(io, run.outputs, { columns: () => process.stdout.columns || 80 }) : () => {};
  const stopOnSignal = installStopHandlers(run, { fullScreen: !io });
  let outcome: Outcome | 'interrupted';
  let underWay = '';
  if (io) keepHeapNearLive();
  try {
    outcome = io
      ? await runPlain(run, io, chat)
      : await (await fullScreenViewCode()).renderTui(run, questions, {
          ...(frontEnd.banner !== undefined ? { banner: frontEnd.banner } : {}),
          chat: { hub: chat.hub, me: chat.me, access: helpers.enabled ? channel.access : null },
          onFirstFrame: () => {
            keepHeapNearLive();
            if (helpers.enabled) channel.openAfterFirstFrame();
          },
        });
    if (outcome !== 'completed' && outcome !== 'fell-back') underWay = underWayLines(run);
  } finally {
    stopShowingUnfinished();
    stopOnSignal();
    stopRunNotes();
    await channel.close(channelClosedWhy(run, session));
    await run.stop();
    stopTellingSnapshots();
  }
  return endOfRun(outcome, session, io, underWay);
}

/** A snapshot that cannot be written does not stop the run; the upgrader is told once (in the chat of the full-screen view). */
/** A state that cannot be saved or a journal that cannot be written (a full disk): said to the upgrader, once a stretch. */
function tellSnapshotTrouble(session: Session, runbook: Runbook, chat: { hub: ChatHub; me: Participant } | null): () => void {
  const tell = (text: string) => {
    if (chat) chat.hub.tell(chat.me.id, text);
    else process.stderr.write(`nightshift: ${text}\n`);
  };
  const stopSnapshots = session.snapshots.onTrouble((trouble) =>
    tell(snapshotTroubleText(trouble, (at) => clockIn(runbook.sites.upgrader.tz, at, true), session.journal.failing)),
  );
  const stopJournal = session.journal.onTrouble((trouble) => tell(journalTroubleText(trouble)));
  return () => {
    stopSnapshots();
    stopJournal();
  };
}

/**
 * The run's helper channel (ssh2 and all, loaded when it opens): opened before a plain
 * run, or after the full-screen view's first frame; what the screen shows of it meanwhile.
 */
function helperChannelOf(run: Run, hub: ChatHub, helpers: HelperSettings, site: SentinelAccess | null) {
  const access = new PendingHelperAccess();
  let channel: HelperChannel | null = null;
  let opening: Promise<unknown> | undefined;
  const open = async (): Promise<HelperChannel> => {
    const { openHelperChannel } = await import('./helper-channel.js');
    channel = await openHelperChannel({ run, hub, listen: helpers.listen, site });
    access.attach(channel);
    return channel;
  };
  return {
    access,
    /** Plain lines: the channel opens before the run, or the run does not start. */
    async openBeforeRun(io: PlainIO): Promise<void> {
      try {
        const opened = await open();
        if (!io.json) {
          io.write(`${helperLine(opened)}\n`);
          io.alsoOnTerminal?.(`${helperLine(opened)}\n`);
        }
      } catch (error) {
        await run.stop();
        throw new UserError(`cannot open the helper channel: ${(error as Error).message}`);
      }
    },
    /** The full-screen view: a channel that cannot open is said in the chat, and the run goes on. */
    openAfterFirstFrame(): void {
      opening = open().catch((error: unknown) => {
        const message = (error as Error).message;
        run.session.journal.append('helper.failed', { error: message });
        access.fail();
        hub.note(`the helper channel could not open: ${message}`);
      });
    },
    async close(why?: string): Promise<void> {
      await opening;
      await (channel as HelperChannel | null)?.close(why);
    },
  };
}

/** What the upgrader is told when the run has stopped, and the exit status that says how it ended. */
async function endOfRun(outcome: Outcome | 'interrupted', session: Session, io: PlainIO | null, underWay: string): Promise<number> {
  if (outcome === 'interrupted') {
    process.stderr.write(`nightshift: stopped; the journal is in ${session.dir}\n${underWay}${resumeHint(session)}`);
    return EXIT.interrupted;
  }
  if (!io?.json) process.stderr.write(summary(outcome, session, underWay));
  return OUTCOME_EXIT[outcome];
}

/** The most steps named one by one as under way at a pause; a rollout's others are counted. */
const UNDER_WAY_NAMED = 3;

/** Lines saying what became of the steps that were running as the run stopped (read before it is stopped). */
function underWayLines(run: Run): string {
  const running = Object.entries(run.actor.getSnapshot().context.steps)
    .filter(([, record]) => record.status === 'running')
    .map(([id]) => run.stepOf(id));
  const named = running.slice(0, UNDER_WAY_NAMED).map((step) => `nightshift: ${visibleLine(pausedStepText(step))}\n`);
  const more = running.length - named.length;
  const guard = run.guards.active();
  const armed = guard ? `nightshift: ${guardLeftArmedText(guard, run.runbook.sites, Date.now())}\n` : '';
  return named.join('') + (more > 0 ? `nightshift: and ${counted(more, 'step')} more were under way (nightshift sessions, report)\n` : '') + armed;
}

/** The line that tells a helper how to join, with the code and the key to compare. */
export function helperLine(access: HelperChannel): string {
  const state = access.state();
  return `helpers join with: ${state.joinCommand} · code ${state.code} · key ${state.fingerprint}`;
}

function resumeHint(session: Session): string {
  return `nightshift: to go on: ${selfCommand()} resume ${session.id}\n`;
}

function summary(outcome: Outcome, session: Session, underWay: string): string {
  return `nightshift: ${outcomeSentence(outcome)}; session record: ${session.dir}\n${outcome === 'paused' ? `${underWay}${resumeHint(session)}` : ''}`;
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
    const underWay = underWayLines(run);
    run.suspend({ role: 'nightshift', name: 'nightshift' }, reason);
    void run.stop().finally(() => {
      tell(`nightshift: session record: ${run.session.dir}\n${underWay}${resumeHint(run.session)}`);
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

/** Where helpers reach the run on site: the runbook's sentinel section, or --site-host. */
function siteAccess(runbook: Runbook, settings: HelperSettings): SentinelAccess | null {
  const given = settings.siteHost;
  if (!given) return runbook.sentinel ?? null;
  if (!(given.host in runbook.hosts)) {
    throw new UserError(`--site-host ${given.host} is not one of the runbook's hosts (${Object.keys(runbook.hosts).join(', ') || 'none'})`);
  }
  return {
    notify: 'wall',
    everyMs: 5 * 60_000,
    ...runbook.sentinel,
    host: given.host,
    port: given.port ?? runbook.sentinel?.port ?? DEFAULT_SENTINEL_PORT,
  };
}

/** The chat so far (resume shows it) and the upgrader present in it. */
function openChat(session: Session, runbook: Runbook, upgraderName: string) {
  const hub = new ChatHub((type, fields, at) => session.journal.append(type, fields, at));
  const earlier = readJournal(path.join(session.dir, 'journal.jsonl'))
    .filter((entry) => entry.type === 'chat.message')
    .map((entry) => ({ from: entry.from, text: entry.text, at: Date.parse(entry.at), ...(entry.tz ? { tz: entry.tz } : {}) }));
  hub.restore(earlier, runbook.sites.site.tz);
  const me = hub.join({ role: 'upgrader', name: upgraderName, tz: runbook.sites.upgrader.tz });
  return { hub, me };
}

/** What helpers still in the channel are told as it closes with the run. */
function channelClosedWhy(run: Run, session: Session): string {
  const outcome = run.outcome();
  const what =
    outcome === null ? 'nightshift stopped' : outcome === 'paused' ? 'the upgrader paused the run' : outcomeSentence(outcome, { scope: run.view().scope });
  const after = outcome === 'paused' ? '; join again once it is resumed' : '';
  return `${what} (session ${session.id})${after}`;
}

/** The session of a new run, with what a resume needs to start it again the same way. */
/** What a new session keeps of the run's options (the run command's, RunCommandOptions). */
export interface NewSessionOptions {
  vars: Record<string, string>;
  connect: Pick<ConnectOptions, 'sshConfigFile' | 'knownHostsFiles' | 'keepaliveIntervalMs'>;
  siteTimeZone?: string;
  demo?: SessionMeta['demo'];
  helpers?: HelperSettings;
  select?: HostSelection;
}

export function newSession(runbook: Runbook, options: NewSessionOptions): Session {
  const { sshConfigFile, knownHostsFiles, keepaliveIntervalMs } = options.connect;
  try {
    return createSession(runbook, {
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
      ...(options.select ? { select: options.select } : {}),
    });
  } catch (error) {
    if (error instanceof SessionLockedError) throw new UserError(error.message);
    throw error;
  }
}
