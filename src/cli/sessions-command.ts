// `nightshift sessions`: every session with its runbook, state, current step and since
// when it stopped, in both sites' clocks; `sessions rm ID` discards one that is not running.
import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { safeJson, visibleLine } from '../output/neutralize.js';
import { acquireLock } from '../store/lock.js';
import { sessionsDir } from '../store/paths.js';
import { findSessionDir, listSessionIds } from '../store/session-lookup.js';
import { summarizeSession, type SessionSummary } from '../store/session-summary.js';
import { clockIn, weekdayIn } from '../text/clock.js';
import { EXIT } from './exit.js';
import type { Out } from './runbook-commands.js';
import { UserError } from './user-error.js';
import { selfCommand } from './self-command.js';

/** `columns`: the terminal's width, when the list goes to one; a table wider than that is shown as blocks. */
export function sessionsCommand(options: { json: boolean; all: boolean; columns?: number }, out: Out): number {
  const dir = sessionsDir(process.env);
  const summaries = listSessionIds(process.env).map((id) => summarizeSession(path.join(dir, id)));
  const shown = options.all ? summaries : summaries.filter((summary) => summary.state !== 'completed' && summary.state !== 'fell-back');
  if (options.json) {
    out.stdout(`${safeJson(shown, 2)}\n`);
    return EXIT.completed;
  }
  if (shown.length === 0) {
    out.stdout(
      summaries.length === 0 ? `No sessions in ${dir}.\n` : `No paused, interrupted or running sessions (${summaries.length} ended; --all lists them).\n`,
    );
    return EXIT.completed;
  }
  // Every cell comes from a journal, and so from a runbook or a remote: shown as visible text.
  const rows = shown.reverse().map((summary) => row(summary).map(visibleLine));
  const table = asTable(rows);
  out.stdout(options.columns !== undefined && table.some((line) => line.length > options.columns!) ? asBlocks(rows) : `${table.join('\n')}\n`);
  if (shown.some((summary) => summary.state === 'paused' || summary.state === 'interrupted')) {
    out.stdout(`\nTo go on (without ID: the latest paused or interrupted):\n  ${selfCommand()} resume ID\n`);
  }
  return EXIT.completed;
}

const HEADINGS = ['ID', 'RUNBOOK', 'STATE', 'STEP', 'SINCE'];

function asTable(rows: string[][]): string[] {
  const widths = HEADINGS.map((heading, column) => Math.max(...rows.map((cells) => cells[column]!.length), heading.length));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(HEADINGS), ...rows.map(line)];
}

/** For a narrow terminal: a block per session. */
function asBlocks(rows: string[][]): string {
  return rows.map(asBlock).join('\n');
}

/** The id and state on a line, then the runbook, the step and the time each on its own. */
function asBlock([id, runbook, state, step, since]: string[]): string {
  return `${id}  ${state}\n  ${runbook}\n${step !== '-' ? `  at ${step}\n` : ''}${since !== '-' ? `  since ${since}\n` : ''}`;
}

function row(summary: SessionSummary): string[] {
  const again = summary.goesAgainFrom !== undefined ? `, again from ${summary.goesAgainFrom ?? 'no session'}` : '';
  return [
    summary.id,
    summary.runbook,
    summary.state + (summary.tornJournal ? ' (torn journal)' : '') + again + guardLeft(summary),
    summary.stepLabel ?? '-',
    since(summary),
  ];
}

/** A guard left armed: its hosts undo the block at its deadline, resumed or not. */
function guardLeft(summary: SessionSummary): string {
  const guard = summary.armedGuard;
  if (!guard || summary.state === 'running') return '';
  const when = bothClocks(guard.deadline, summary.sites);
  return guard.deadline.getTime() > Date.now() ? `, guard ${guard.id} reverts at ${when}` : `, guard ${guard.id}'s deadline passed at ${when}`;
}

function since(summary: SessionSummary): string {
  if (!summary.since) return summary.state === 'running' ? `now (pid ${summary.holder?.pid ?? '?'} on ${summary.holder?.host ?? '?'})` : '-';
  return bothClocks(summary.since, summary.sites);
}

/** A moment in the sites' clocks: "Sat 03:14 Boston / Sat 16:14 Taipei" (one when they share a zone). */
export function bothClocks(at: Date, sites: SessionSummary['sites']): string {
  if (!sites) return at.toISOString();
  const { upgrader, site } = sites;
  const clock = (tz: string, name: string) => `${weekdayIn(tz, at)} ${clockIn(tz, at)} ${name}`;
  return upgrader.tz === site.tz ? clock(upgrader.tz, upgrader.name) : `${clock(upgrader.tz, upgrader.name)} / ${clock(site.tz, site.name)}`;
}

export interface RemoveOptions {
  /** A session id, or a unique beginning of one: never "the latest". */
  id: string;
  /** Removes without asking. */
  yes: boolean;
  /** Asks the question on the terminal; null when there is none to ask on (then --yes is needed). */
  ask: ((question: string) => Promise<string | null>) | null;
}

/**
 * Discards a session that no nightshift has open: its journal, logs, casts and reports. The
 * lock is taken first, so that a resume starting meanwhile either wins or finds it gone.
 */
export async function sessionsRemoveCommand(options: RemoveOptions, out: Out): Promise<number> {
  const who = 'nightshift sessions rm';
  let dir: string;
  try {
    dir = findSessionDir(options.id);
  } catch (error) {
    throw new UserError((error as Error).message, { who });
  }
  const summary = summarizeSession(dir);
  if (summary.state === 'running') {
    throw new UserError(
      `session ${summary.id} is open in nightshift (pid ${summary.holder?.pid ?? '?'} on ${summary.holder?.host ?? '?'}): it is not removed.`,
      { who, hint: 'Pause or end it there first.' },
    );
  }
  const cells = row(summary).map(visibleLine);
  const resumable = summary.state === 'paused' || summary.state === 'interrupted';
  out.stdout(
    `${asBlock(cells)}Removing it deletes ${visibleLine(dir)}:\nits journal, output logs and reports.\n${resumable ? 'It can no longer be resumed; what it did on the hosts stays.\n' : ''}`,
  );
  if (!options.yes) {
    if (!options.ask) throw new UserError('not removed: confirm on a terminal, or with --yes.', { who });
    const answer = await options.ask('Remove it? Type yes to remove it, anything else keeps it:');
    if (answer?.trim() !== 'yes') {
      out.stdout('Kept.\n');
      return EXIT.error;
    }
  }
  const lock = acquireLock(dir);
  // Out of the list at once (a folder whose name starts with a dot is not a session), then removed.
  const removing = path.join(path.dirname(dir), `.removing-${path.basename(dir)}-${process.pid}`);
  try {
    renameSync(dir, removing);
  } catch (error) {
    lock.release();
    throw error;
  }
  rmSync(removing, { recursive: true, force: true });
  out.stdout(`Removed session ${cells[0]}.\n`);
  return EXIT.completed;
}
