// `nightshift resume [ID]`: goes on with a paused or interrupted session at the exact step:
// same runbook (or a changed one, when the upgrader accepts the changes), same variables
// and connection settings; detached steps are followed again, other steps in flight are
// checked or put to the upgrader.
import { guardEventsOf } from '../runner/guard.js';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { ConnectOptions } from '../remote/types.js';
import { visibleLine, visibleText } from '../output/neutralize.js';
import { diffRunbooks, formatRunbookDiff } from '../runbook/diff.js';
import { RunbookError } from '../runbook/errors.js';
import { loadRunbookFor } from './runbook-for-run.js';
import type { DemoScenario } from '../lab/demo-lab.js';
import { rebootsInFlightOf } from '../runner/reboot.js';
import { outputLinesOf, restoreMachine, RestoreError, type RestoredMachine } from '../runner/restore.js';
import { SessionLockedError } from '../store/lock.js';
import { findSessionDir, SessionNotFoundError } from '../store/session-lookup.js';
import { reopenSession, RUNBOOK_COPY, type ReopenedSession, type Session, type SessionMeta } from '../store/session.js';
import { isResumable, summarizeSession, type SessionSummary } from '../store/session-summary.js';
import { readSnapshot, type SavedOutputOffsets, type SessionSnapshot } from '../store/snapshot.js';
import { staleSnapshotOf, stepsWithoutSnapshot, type StaleSnapshot } from '../store/stale-snapshot.js';
import { allSteps, type Runbook } from '../runbook/types.js';
import { clockIn, weekdayIn } from '../text/clock.js';
import { outcomeText } from '../text/outcome.js';
import { withDemoLab } from './demo-command.js';
import { DEFAULT_HELPER_SETTINGS, type HelperSettings } from '../store/helper-settings.js';
import { driveRun } from './drive-run.js';
import { loadFullScreenViewEarly, type FrontEndOptions } from './front-end.js';
import { readSecrets } from './run-command.js';
import { EXIT } from './exit.js';
import { UserError } from './user-error.js';
import { problemLine } from '../text/problem-line.js';
import { goingAgainOptions, type GoingAgain } from '../engine/going-again.js';
import type { JournalEntry } from '../store/journal-entries.js';
import { bothClocks } from './sessions-command.js';

/** Where a session that goes again started (its run.started entry): resumed, its machine is compiled the same way. */
function againOf(entries: Locked['reading']['entries']): GoingAgain | undefined {
  const again = entries.find((entry) => entry.type === 'run.started')?.again;
  return again ? { phase: again.from, session: again.session } : undefined;
}

export interface ResumeOptions extends FrontEndOptions {
  sessionId?: string;
  acceptRunbookChange: boolean;
  /** Go on from a saved state older than the journal (the steps since are listed either way). */
  acceptStaleState?: boolean;
  /** Given again on the command line: replace what the session was started with. */
  connect: Omit<ConnectOptions, 'interaction'>;
  /** Helper flags given again: applied over the session's own. */
  helpers?: (saved: HelperSettings) => HelperSettings;
}

export async function resumeCommand(options: ResumeOptions): Promise<number> {
  loadFullScreenViewEarly(options);
  const { dir, before } = resumableSession(options.sessionId);
  const { session, reading } = lockSession(dir);
  try {
    return await resumeLocked({ session, reading, before, options });
  } finally {
    // The run closes both when it ran; a refusal before it leaves them for here.
    session.journal.close();
    session.lock.release();
  }
}

/**
 * When the session stopped and why, in both sites' clocks: who paused it and how, or that
 * nightshift stopped without a pause (killed, a crash, the machine went down).
 */
export function howItStopped(before: SessionSummary, entries: readonly JournalEntry[]): string {
  const when = before.since ? bothClocks(before.since, before.sites) : 'at a time the journal does not say';
  const last = [...entries]
    .reverse()
    .find(
      (entry) =>
        entry.type === 'session.paused' ||
        (entry.type === 'decision' && entry.action === 'pause') ||
        entry.type === 'session.resumed' ||
        entry.type === 'run.started',
    );
  if (before.state === 'paused') {
    if (last?.type === 'session.paused' || last?.type === 'decision') {
      const who = last.by.role === 'nightshift' ? 'nightshift' : `${last.by.name} (${last.by.role})`;
      const why = last.type === 'session.paused' ? last.reason : `the answer pause to the question about step ${before.stepLabel ?? last.stepId ?? '?'}`;
      return `paused ${when} by ${who}: ${why}`;
    }
    return `paused ${when}`;
  }
  return `interrupted ${when}: nightshift stopped without pausing (killed, a crash, or the machine went down); the journal's last entry is from then`;
}

/** A session held by this nightshift, with what its journal holds. */
interface Locked {
  session: Session;
  reading: ReopenedSession['reading'];
  before: SessionSummary;
  options: ResumeOptions;
}

function refuse(message: string): UserError {
  return new UserError(message, { who: 'nightshift resume' });
}

/** The session to resume: the one named (a unique beginning is enough) or the latest, when it is paused or interrupted. */
function resumableSession(sessionId: string | undefined): { dir: string; before: SessionSummary } {
  let dir: string;
  try {
    dir = findSessionDir(sessionId, process.env, (candidate) => isResumable(summarizeSession(candidate)), 'paused or interrupted session');
  } catch (error) {
    if (error instanceof SessionNotFoundError) throw refuse(error.message);
    throw error;
  }
  const before = summarizeSession(dir);
  if (!isResumable(before)) {
    if (before.state === 'running') {
      const holder = before.holder ? ` in another nightshift (pid ${before.holder.pid} on ${before.holder.host}, since ${before.holder.since})` : '';
      throw refuse(`the session ${before.id} is running${holder}: use that one, or stop it first.`);
    }
    throw refuse(`the session ${before.id} has ended (${before.state}): there is nothing to resume.`);
  }
  return { dir, before };
}

function lockSession(dir: string): ReopenedSession {
  try {
    return reopenSession(dir);
  } catch (error) {
    if (error instanceof SessionLockedError) throw refuse(error.message);
    throw error;
  }
}

async function resumeLocked(locked: Locked): Promise<number> {
  const { session, reading, before, options } = locked;
  const { meta, dir } = session;
  if (options.helpers) session.meta.helpers = options.helpers(session.meta.helpers ?? DEFAULT_HELPER_SETTINGS);
  refuseUnknownEntries(session, reading);
  tellHowItReopened(session, reading);

  const saved = readSnapshot(dir);
  const runbook = await sessionRunbook(session);
  if (meta.demo && !existsSync(meta.demo.labDir)) {
    throw refuse(`the demo lab of session ${session.id} (${meta.demo.labDir}) is gone: its machines cannot be resumed.`);
  }
  // A saved state that fell behind the journal (or none, though steps were journaled) would
  // take the run back to before steps that ran: the upgrader looks at them first.
  const stale = staleSnapshotOf(reading.entries) ?? (saved ? undefined : stepsWithoutSnapshot(reading.entries));
  if (stale) acceptStaleState(session, stale, runbook, options);
  if (!saved) {
    if (!stale) process.stderr.write(`nightshift: session ${session.id} stopped before its first step; starting it from the beginning\n`);
    return goOn(locked, runbook);
  }
  if ((saved.machine as { status?: string }).status === 'done') return closeFinished(locked);
  if (runbook.hash !== saved.runbookHash) await acceptRunbookChange(session, runbook, saved, options);
  const restore = restoredRun(saved, runbook, reading.entries, againOf(reading.entries));
  if (!options.json) {
    const where = before.stepLabel ? ` at ${visibleLine(before.stepLabel)}` : '';
    process.stderr.write(
      `nightshift: resuming session ${session.id} (${visibleLine(runbook.name)})${where}\nnightshift: ${visibleLine(howItStopped(before, reading.entries))}\n`,
    );
  }
  return goOn(locked, runbook, restore);
}

/**
 * An entry of a type this nightshift does not know was written by a newer one: what it
 * meant for the run cannot be judged here, so the resume is refused. A known entry not as
 * its type is written (a bug, an edit) is left out and said: the saved state goes on.
 */
function refuseUnknownEntries(session: Session, reading: Locked['reading']): void {
  const unknown = (reading.problems ?? []).filter((problem) => problem.unknownType);
  if (unknown.length > 0) {
    throw refuse(
      `the journal holds entries this version of nightshift does not know, so it cannot tell what they meant for the run:\n` +
        unknown.map((problem) => `  ${visibleLine(problem.message)}\n`).join('') +
        `Resume the session with the version of nightshift that wrote them (nightshift report ${session.id} reads it with them left out).`,
    );
  }
  for (const problem of reading.problems ?? []) process.stderr.write(`nightshift resume: ${visibleLine(problem.message)} It is left out.\n`);
}

/** What reopening the session found: a journal line cut off, a lock left by a process that is gone. */
function tellHowItReopened(session: Session, reading: Locked['reading']): void {
  if (reading.torn) {
    process.stderr.write(
      `nightshift resume: the journal's last line (line ${reading.torn.line}) was cut off when nightshift stopped; it is left out: ${JSON.stringify(reading.torn.text.slice(0, 120))}\n`,
    );
    session.journal.append('journal.torn', { line: reading.torn.line, text: reading.torn.text });
  }
  if (session.lock.tookOverFrom) {
    process.stderr.write(`nightshift resume: the lock of pid ${session.lock.tookOverFrom.pid}, which is gone, was taken over\n`);
  }
}

/** The runbook the session ran, from its file, or from the session's copy when the file is gone. */
async function sessionRunbook(session: Session): Promise<Runbook> {
  const { meta } = session;
  const runbookFile = existsSync(meta.runbookFile) ? meta.runbookFile : path.join(session.dir, RUNBOOK_COPY);
  if (runbookFile !== meta.runbookFile) process.stderr.write(`nightshift resume: ${meta.runbookFile} is gone; using the session's copy\n`);
  return loadSessionRunbook(runbookFile, meta);
}

function loadSessionRunbook(file: string, meta: SessionMeta): Promise<Runbook> {
  return loadRunbookFor(file, {
    vars: meta.vars,
    ...(meta.siteTimeZone !== undefined ? { siteTimeZone: meta.siteTimeZone } : {}),
    ...(meta.select ? { select: meta.select } : {}),
    ...(meta.connect.sshConfigFile !== undefined ? { sshConfigFile: meta.connect.sshConfigFile } : {}),
  });
}

/** Refuses to go on from a saved state behind the journal unless the upgrader said so (--accept-stale-state); journals that they did. */
function acceptStaleState(session: Session, stale: StaleSnapshot, runbook: Runbook, options: ResumeOptions): void {
  const facts = describeStaleState(stale, runbook);
  if (!options.acceptStaleState) {
    throw refuse(
      `${facts}\nLook at what those steps did on their hosts; then resume with --accept-stale-state to go on from the saved state (the steps above are taken up again: a detached one is followed if its host still has it, any other is checked or put to you, or run again when it had not started by then).`,
    );
  }
  process.stderr.write(`nightshift resume: going on from a saved state older than the journal:\n${facts}\n`);
  session.journal.append('snapshot.stale-accepted', { savedAt: stale.savedAt, steps: stale.steps.map((step) => step.stepId) });
}

/** Refuses a runbook changed since the session started unless the upgrader said so (--accept-runbook-change); lists and journals the changes. */
async function acceptRunbookChange(session: Session, runbook: Runbook, saved: SessionSnapshot, options: ResumeOptions): Promise<void> {
  let original: Runbook | null = null;
  try {
    original = await loadSessionRunbook(path.join(session.dir, RUNBOOK_COPY), session.meta);
  } catch (error) {
    if (!(error instanceof RunbookError)) throw error;
    for (const problem of error.problems) process.stderr.write(problemLine(problem));
  }
  const changes = original ? visibleText(formatRunbookDiff(diffRunbooks(original, runbook))) : "  (the session's copy does not load)";
  if (!options.acceptRunbookChange) {
    throw refuse(
      `${runbook.file} changed since the session started:\n${changes}\n` +
        'Resume with --accept-runbook-change to go on with the changed runbook, or restore the file.',
    );
  }
  process.stderr.write(`nightshift resume: going on with the changed runbook:\n${changes}\n`);
  session.journal.append('runbook.changed', { hash: runbook.hash, previous: saved.runbookHash, changes: diffRunbooks(original ?? runbook, runbook) });
}

/** The machine as saved, with the output and reboots the journal recorded: what the run goes on from. */
function restoredRun(saved: SessionSnapshot, runbook: Runbook, entries: Locked['reading']['entries'], again?: GoingAgain): RestoredMachine {
  try {
    const restored = restoreMachine(saved.machine, runbook, goingAgainOptions(again));
    // Followed again now, or perhaps later (an attempt that may still run): their logs go on from there.
    const followed = new Set([...restored.reattach, ...restored.unsettled]);
    const outputs: Record<string, SavedOutputOffsets> = saved.outputs ?? {};
    const outputOffsets = Object.fromEntries(Object.entries(outputs).filter(([stepId]) => followed.has(stepId)));
    return { ...restored, outputLines: outputLinesOf(entries), outputOffsets, reboots: rebootsInFlightOf(entries), guards: guardEventsOf(entries) };
  } catch (error) {
    if (error instanceof RestoreError) throw refuse(error.message);
    throw error;
  }
}

/** The run had finished when nightshift stopped, before it closed the session: it is closed now. */
async function closeFinished({ session, reading }: Locked): Promise<number> {
  const outcome = reading.entries.findLast((entry) => entry.type === 'run.finished')?.outcome;
  session.journal.append('session.closed', { outcome: outcome ?? 'interrupted' });
  if (session.meta.demo?.temporary) await rm(session.meta.demo.labDir, { recursive: true, force: true });
  process.stderr.write(
    `nightshift: session ${session.id} had ${outcomeText(outcome === 'fell-back' ? outcome : 'completed')} when nightshift stopped; it is closed now\n`,
  );
  return outcome === 'fell-back' ? EXIT.fellBack : EXIT.completed;
}

/** Runs the session on, in the demo lab it ran in when it is a demo session. */
async function goOn({ session, reading, options }: Locked, runbook: Runbook, restore?: RestoredMachine): Promise<number> {
  const again = againOf(reading.entries);
  const { meta } = session;
  // Never stored: read or asked again at every resume.
  const secrets = await readSecrets(runbook, options);
  const drive = (connect: Omit<ConnectOptions, 'interaction'>, banner?: string) =>
    driveRun({
      runbook,
      session,
      connect: { ...connect, ...options.connect },
      frontEnd: banner !== undefined ? { ...options, banner } : options,
      ...(restore ? { restore } : {}),
      ...(again ? { again } : {}),
      secrets,
    });
  if (!meta.demo) return drive(meta.connect);
  const lab = { dir: meta.demo.labDir, scenario: meta.demo.scenario as DemoScenario, reuse: true };
  return withDemoLab(lab, meta.demo.temporary, (_lab, connect, banner) => drive(connect, banner));
}

/** What the journal recorded after the saved state fell behind, step by step, for the upgrader to look at. */
function describeStaleState(stale: StaleSnapshot, runbook: Runbook): string {
  const zone = runbook.sites.upgrader.tz;
  const when = (iso: string) => `${weekdayIn(zone, new Date(iso))} ${clockIn(zone, new Date(iso), true)}`;
  const steps = stale.steps.map((entry) => {
    const step = allSteps(runbook).find((candidate) => candidate.id === entry.stepId);
    const label = step ? `${step.number} ${visibleLine(step.title)}` : visibleLine(entry.stepId);
    const started = entry.startedAt === null ? 'started before the saved state' : `attempt ${entry.attempt} started ${when(entry.startedAt)}`;
    const ended = entry.ended ? `${entry.ended.status} ${when(entry.ended.at)}` : 'no end recorded';
    return `  ${label}: ${started}, ${ended}`;
  });
  const why =
    stale.failedAt === null
      ? 'the saved state (snapshot.json) is missing, though the journal records steps: a resume would start the run from the beginning.'
      : `the saved state (snapshot.json) is older than the journal: it could not be written from ${when(stale.failedAt)} on (${visibleLine(stale.error)}) and was not written again before nightshift stopped; it holds the state of ${stale.savedAt === null ? 'the start' : when(stale.savedAt)}.`;
  return [why, steps.length > 0 ? 'Since then the journal records:' : 'The journal records no step since.', ...steps].join('\n');
}
