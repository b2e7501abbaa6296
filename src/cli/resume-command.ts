// `nightshift resume [ID]`: goes on with a paused or interrupted session at the exact step:
// same runbook (or a changed one, when the upgrader accepts the changes), same variables
// and connection settings; detached steps are followed again, other steps in flight are
// checked or put to the upgrader.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Outcome } from '../engine/events.js';
import path from 'node:path';
import type { ConnectOptions } from '../remote/types.js';
import { visibleLine, visibleText } from '../output/neutralize.js';
import { diffRunbooks, formatRunbookDiff } from '../runbook/diff.js';
import type { DemoScenario } from '../lab/demo-lab.js';
import { rebootsInFlightOf } from '../runner/reboot.js';
import { outputLinesOf, restoreMachine, RestoreError, type RestoredMachine } from '../runner/restore.js';
import { SessionLockedError } from '../store/lock.js';
import { findSessionDir, SessionNotFoundError } from '../store/session-lookup.js';
import { reopenSession, RUNBOOK_COPY } from '../store/session.js';
import { isResumable, summarizeSession } from '../store/session-summary.js';
import { readSnapshot } from '../store/snapshot.js';
import { staleSnapshotOf, stepsWithoutSnapshot, type StaleSnapshot } from '../store/stale-snapshot.js';
import type { Runbook } from '../runbook/types.js';
import { clockIn, weekdayIn } from '../text/clock.js';
import { outcomeWords } from '../text/outcome.js';
import { withDemoLab } from './demo-command.js';
import { DEFAULT_HELPER_SETTINGS, type HelperSettings } from '../store/helper-settings.js';
import { driveRun, loadOrReport, readSecrets, type FrontEndOptions } from './run-command.js';
import { EXIT } from './exit.js';

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
  const fail = (message: string) => {
    process.stderr.write(`nightshift resume: ${message}\n`);
    return EXIT.error;
  };
  let dir: string;
  try {
    dir = findSessionDir(options.sessionId, process.env, (candidate) => isResumable(summarizeSession(candidate)), 'paused or interrupted session');
  } catch (error) {
    if (error instanceof SessionNotFoundError) return fail(error.message);
    throw error;
  }
  const before = summarizeSession(dir);
  if (!isResumable(before)) {
    if (before.state === 'running') {
      const holder = before.holder ? ` in another nightshift (pid ${before.holder.pid} on ${before.holder.host}, since ${before.holder.since})` : '';
      return fail(`the session ${before.id} is running${holder}: use that one, or stop it first.`);
    }
    return fail(`the session ${before.id} has ended (${before.state}): there is nothing to resume.`);
  }

  let reopened;
  try {
    reopened = reopenSession(dir);
  } catch (error) {
    if (error instanceof SessionLockedError) return fail(error.message);
    throw error;
  }
  const { session, reading } = reopened;
  if (options.helpers) session.meta.helpers = options.helpers(session.meta.helpers ?? DEFAULT_HELPER_SETTINGS);
  const release = () => {
    session.journal.close();
    session.lock.release();
  };
  if (reading.torn) {
    process.stderr.write(
      `nightshift resume: the journal's last line (line ${reading.torn.line}) was cut off when nightshift stopped; it is left out: ${JSON.stringify(reading.torn.text.slice(0, 120))}\n`,
    );
    session.journal.append('journal.torn', { line: reading.torn.line, text: reading.torn.text });
  }
  if (session.lock.tookOverFrom) {
    process.stderr.write(`nightshift resume: the lock of pid ${session.lock.tookOverFrom.pid}, which is gone, was taken over\n`);
  }

  const saved = readSnapshot(dir);
  /** The run had finished when nightshift stopped, before it closed the session: it is closed now. */
  const closeFinished = async (): Promise<number> => {
    const outcome = [...reading.entries].reverse().find((entry) => entry.type === 'run.finished')?.['outcome'] as Outcome | undefined;
    session.journal.append('session.closed', { outcome: outcome ?? 'interrupted' });
    release();
    if (session.meta.demo?.temporary) await rm(session.meta.demo.labDir, { recursive: true, force: true });
    process.stderr.write(`nightshift: session ${session.id} had ${outcomeWords(outcome === 'fell-back' ? outcome : 'completed')} when nightshift stopped; it is closed now\n`);
    return outcome === 'fell-back' ? EXIT.fellBack : EXIT.completed;
  };

  const { meta } = session;
  const runbookFile = existsSync(meta.runbookFile) ? meta.runbookFile : path.join(dir, RUNBOOK_COPY);
  if (runbookFile !== meta.runbookFile) process.stderr.write(`nightshift resume: ${meta.runbookFile} is gone; using the session's copy\n`);
  const runbook = await loadOrReport(runbookFile, meta.vars, meta.siteTimeZone);
  if (!runbook) {
    release();
    return EXIT.error;
  }
  if (meta.demo && !existsSync(meta.demo.labDir)) {
    release();
    return fail(`the demo lab of session ${session.id} (${meta.demo.labDir}) is gone: its machines cannot be resumed.`);
  }
  /** Runs the session on, in the demo lab it ran in when it is a demo session. */
  const goOn = async (restore?: RestoredMachine): Promise<number> => {
    // Never stored: read or asked again at every resume.
    const secrets = await readSecrets(runbook, options);
    if (!secrets) {
      release();
      return EXIT.error;
    }
    const drive = (connect: Omit<ConnectOptions, 'interaction'>, banner?: string) =>
      driveRun({
        runbook,
        session,
        connect: { ...connect, ...options.connect },
        frontEnd: banner !== undefined ? { ...options, banner } : options,
        ...(restore ? { restore } : {}),
        secrets,
      });
    if (!meta.demo) return drive(meta.connect);
    const lab = { dir: meta.demo.labDir, scenario: meta.demo.scenario as DemoScenario, reuse: true };
    return withDemoLab(lab, meta.demo.temporary, (_lab, connect, banner) => drive(connect, banner));
  };
  // A saved state that fell behind the journal (or none, though steps were journaled) would
  // take the run back to before steps that ran: the upgrader looks at them first.
  const stale = staleSnapshotOf(reading.entries) ?? (saved ? undefined : stepsWithoutSnapshot(reading.entries));
  if (stale) {
    const facts = describeStaleState(stale, runbook);
    if (!options.acceptStaleState) {
      release();
      return fail(
        `${facts}\nLook at what those steps did on their hosts; then resume with --accept-stale-state to go on from the saved state (the steps above are taken up again: a detached one is followed if its host still has it, any other is checked or put to you, or run again when it had not started by then).`,
      );
    }
    process.stderr.write(`nightshift resume: going on from a saved state older than the journal:\n${facts}\n`);
    session.journal.append('snapshot.stale-accepted', { savedAt: stale.savedAt, steps: stale.steps.map((step) => step.stepId) });
  }
  if (!saved) {
    if (!stale) process.stderr.write(`nightshift: session ${session.id} stopped before its first step; starting it from the beginning\n`);
    return goOn();
  }
  if ((saved.machine as { status?: string }).status === 'done') return closeFinished();
  if (runbook.hash !== saved.runbookHash) {
    const original = await loadOrReport(path.join(dir, RUNBOOK_COPY), meta.vars, meta.siteTimeZone);
    const changes = original ? visibleText(formatRunbookDiff(diffRunbooks(original, runbook))) : '  (the session\'s copy does not load)';
    if (!options.acceptRunbookChange) {
      release();
      return fail(
        `${runbook.file} changed since the session started:\n${changes}\n` +
          'Resume with --accept-runbook-change to go on with the changed runbook, or restore the file.',
      );
    }
    process.stderr.write(`nightshift resume: going on with the changed runbook:\n${changes}\n`);
    session.journal.append('runbook.changed', { hash: runbook.hash, previous: saved.runbookHash, changes: diffRunbooks(original ?? runbook, runbook) });
  }

  let restore;
  try {
    const restored = restoreMachine(saved.machine, runbook);
    // Followed again now, or perhaps later (an attempt that may still run): their logs go on from there.
    const followed = new Set([...restored.reattach, ...restored.unsettled]);
    const outputOffsets = Object.fromEntries(Object.entries(saved.outputs ?? {}).filter(([stepId]) => followed.has(stepId)));
    restore = { ...restored, outputLines: outputLinesOf(reading.entries), outputOffsets, reboots: rebootsInFlightOf(reading.entries) };
  } catch (error) {
    if (!(error instanceof RestoreError)) throw error;
    release();
    return fail(error.message);
  }
  if (!options.json) {
    const where = before.stepLabel ? ` at ${visibleLine(before.stepLabel)}` : '';
    process.stderr.write(`nightshift: resuming session ${session.id} (${visibleLine(runbook.name)})${where}\n`);
  }
  return goOn(restore);
}

/** What the journal recorded after the saved state fell behind, step by step, for the upgrader to look at. */
function describeStaleState(stale: StaleSnapshot, runbook: Runbook): string {
  const zone = runbook.sites.upgrader.tz;
  const when = (iso: string) => `${weekdayIn(zone, new Date(iso))} ${clockIn(zone, new Date(iso), true)}`;
  const steps = stale.steps.map((entry) => {
    const step = runbook.phases.flatMap((phase) => phase.steps).concat(runbook.fallback).find((candidate) => candidate.id === entry.stepId);
    const label = step ? `${step.number} ${visibleLine(step.title)}` : visibleLine(entry.stepId);
    const started = entry.startedAt === null ? 'started before the saved state' : `attempt ${entry.attempt} started ${when(entry.startedAt)}`;
    const ended = entry.ended ? `${entry.ended.status} ${when(entry.ended.at)}` : 'no end recorded';
    return `  ${label}: ${started}, ${ended}`;
  });
  const why =
    stale.failedAt === null
      ? 'the saved state (snapshot.json) is missing, though the journal records steps: a resume would start the run from the beginning.'
      : `the saved state (snapshot.json) is older than the journal: it could not be written from ${when(stale.failedAt)} on (${visibleLine(stale.error)}) and was not written again before nightshift stopped; it holds the state of ${stale.savedAt === null ? 'the start' : when(stale.savedAt)}.`;
  return [
    why,
    steps.length > 0 ? 'Since then the journal records:' : 'The journal records no step since.',
    ...steps,
  ].join('\n');
}
