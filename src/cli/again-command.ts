// `nightshift again [ID] [--from PHASE]`: a new session of an ended session's runbook (read
// again: fixing it is often why one goes again), starting at a phase, with the steps before
// it done by the old session and its captured values carried. The old session is not
// written to; the new one names it in its run.started entry.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ConnectOptions } from '../remote/types.js';
import { visibleLine } from '../output/neutralize.js';
import { loadRunbookFor } from './runbook-for-run.js';
import type { HostSelection } from '../runbook/fleet-settings.js';
import type { Runbook } from '../runbook/types.js';
import { readJournalChecked } from '../store/journal.js';
import { findSessionDir, SessionNotFoundError } from '../store/session-lookup.js';
import { readMeta } from '../store/session.js';
import { summarizeSession } from '../store/session-summary.js';
import { capturedValuesOf, runStartedOf, stepStatusesOf, type RunStarted } from '../store/session-links.js';
import type { HelperSettings } from '../store/helper-settings.js';
import type { FrontEndOptions } from './front-end.js';
import { runCommand } from './run-command.js';
import { UserError } from './user-error.js';
import { selfCommand } from './self-command.js';

export interface AgainOptions extends FrontEndOptions {
  sessionId?: string;
  from?: string;
  /** --var given here: over the session's own. */
  vars: Record<string, string>;
  /** --hosts, --limit (over the session's own). */
  select?: HostSelection;
  /** Given on the command line: over what the session was started with. */
  connect: Omit<ConnectOptions, 'interaction'>;
  helpers?: (saved: HelperSettings | undefined) => HelperSettings;
  check: boolean;
  siteTimeZone?: string;
}

function refuse(message: string, hint?: string): UserError {
  return new UserError(message, { who: 'nightshift again', ...(hint !== undefined ? { hint } : {}) });
}

export async function againCommand(options: AgainOptions): Promise<number> {
  const dir = endedSession(options.sessionId);
  const id = path.basename(dir);
  const meta = readMeta(dir);
  const started = runStartedOf(dir);
  if (!started) throw refuse(`the session ${id} has no run.started entry in its journal: there is nothing to go again from.`);
  if (meta.demo) throw refuse(`the session ${id} ran in the demo lab, which is gone with it: start nightshift demo again instead.`);
  if (!existsSync(meta.runbookFile)) {
    throw refuse(
      `the runbook of session ${id}, ${visibleLine(meta.runbookFile)}, is gone.`,
      `Put it back, or run a copy of it with nightshift run FILE --from PHASE (the session's copy is ${path.join(dir, 'runbook.yaml')}).`,
    );
  }
  const vars = { ...meta.vars, ...options.vars };
  const siteTimeZone = meta.siteTimeZone ?? options.siteTimeZone;
  const select = options.select ?? meta.select;
  const sshConfigFile = options.connect.sshConfigFile ?? meta.connect.sshConfigFile;
  const runbook = await loadRunbookFor(meta.runbookFile, {
    vars,
    ...(siteTimeZone !== undefined ? { siteTimeZone } : {}),
    ...(select ? { select } : {}),
    ...(sshConfigFile !== undefined ? { sshConfigFile } : {}),
  });
  if (runbook.hash !== started.runbook.hash && !options.json) {
    process.stderr.write(
      `nightshift again: ${visibleLine(runbook.file)} changed since session ${id} started (sha256 ${visibleLine(started.runbook.hash).slice(0, 12)} → ${runbook.hash.slice(0, 12)}); going on with it as it is now\n`,
    );
  }
  const from = options.from ?? defaultPhase(dir, id, runbook, started);
  const helpers = options.helpers ? options.helpers(meta.helpers) : meta.helpers;
  return runCommand({
    runbookFile: meta.runbookFile,
    vars,
    ...(siteTimeZone !== undefined ? { siteTimeZone } : {}),
    connect: { ...meta.connect, ...options.connect },
    plain: options.plain,
    json: options.json,
    ...(helpers ? { helpers } : {}),
    check: options.check,
    from,
    againFrom: { session: id, values: capturedValuesOf(dir) },
  });
}

/** The session named (a unique beginning is enough) or the latest, when it has ended; a paused or interrupted one is resumed instead. */
function endedSession(sessionId: string | undefined): string {
  let dir: string;
  try {
    dir = findSessionDir(sessionId, process.env);
  } catch (error) {
    if (error instanceof SessionNotFoundError) throw refuse(error.message);
    throw error;
  }
  const summary = summarizeSession(dir);
  if (summary.state === 'paused' || summary.state === 'interrupted') {
    throw refuse(
      `the session ${summary.id} is ${summary.state}${summary.stepLabel ? ` at ${visibleLine(summary.stepLabel)}` : ''}: it has not ended.`,
      `Go on with it: ${selfCommand()} resume ${summary.id}`,
    );
  }
  if (summary.state === 'running') {
    const holder = summary.holder ? ` (pid ${summary.holder.pid} on ${visibleLine(summary.holder.host)})` : '';
    throw refuse(`the session ${summary.id} is running${holder}: let it end, or stop it, first.`);
  }
  return dir;
}

/** Where the fallback started from, or the first phase with a step the session did not do. */
function defaultPhase(dir: string, id: string, runbook: Runbook, started: RunStarted): string {
  const phases = runbook.phases.map((phase) => phase.name);
  const phaseOfStep = (stepId: string): string | null =>
    runbook.phases.find((phase) => phase.steps.some((step) => step.id === stepId))?.name ?? started.steps.find((step) => step.id === stepId)?.phase ?? null;
  const entries = readJournalChecked(path.join(dir, 'journal.jsonl')).entries;
  const fellBackFrom = entries.findLast((entry) => entry.type === 'fallback.started')?.fromStepId;
  const fallbackPhase = fellBackFrom ? phaseOfStep(fellBackFrom) : null;
  if (fallbackPhase !== null && phases.includes(fallbackPhase)) return fallbackPhase;
  const statuses = stepStatusesOf(dir);
  const notDone = runbook.phases.find((phase) => phase.steps.some((step) => statuses[step.id] !== 'done'));
  if (notDone) return notDone.name;
  throw refuse(
    `every step of session ${id} is done: there is no phase to go again from by default.`,
    `Give one with --from PHASE (the runbook's phases: ${phases.map(visibleLine).join(', ')}).`,
  );
}
