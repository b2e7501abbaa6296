// `nightshift sessions`: every session with its runbook, state, current step and since
// when it stopped, in both sites' clocks.
import { safeJson, visibleLine } from '../output/neutralize.js';
import { clockIn, weekdayIn } from '../text/clock.js';
import { listSessionIds } from '../store/session-lookup.js';
import { summarizeSession, type SessionSummary } from '../store/session-summary.js';
import { sessionsDir } from '../store/paths.js';
import path from 'node:path';
import type { Out } from './runbook-commands.js';
import { EXIT } from './exit.js';

export function sessionsCommand(options: { json: boolean; all: boolean }, out: Out): number {
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
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length), HEADINGS[column]!.length));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  out.stdout(`${line(HEADINGS)}\n${rows.map(line).join('\n')}\n`);
  if (shown.some((summary) => summary.state === 'paused' || summary.state === 'interrupted')) {
    out.stdout('\nnightshift resume [ID] goes on with one (the latest paused or interrupted by default).\n');
  }
  return EXIT.completed;
}

const HEADINGS = ['ID', 'RUNBOOK', 'STATE', 'STEP', 'SINCE'];

function row(summary: SessionSummary): string[] {
  const again = summary.goesAgainFrom !== undefined ? `, again from ${summary.goesAgainFrom ?? 'no session'}` : '';
  return [summary.id, summary.runbook, summary.state + (summary.tornJournal ? ' (torn journal)' : '') + again, summary.stepLabel ?? '-', since(summary)];
}

function since(summary: SessionSummary): string {
  if (!summary.since) return summary.state === 'running' ? `now (pid ${summary.holder?.pid ?? '?'} on ${summary.holder?.host ?? '?'})` : '-';
  const at = summary.since;
  if (!summary.sites) return at.toISOString();
  const { upgrader, site } = summary.sites;
  const clock = (tz: string, name: string) => `${weekdayIn(tz, at)} ${clockIn(tz, at)} ${name}`;
  return upgrader.tz === site.tz ? clock(upgrader.tz, upgrader.name) : `${clock(upgrader.tz, upgrader.name)} / ${clock(site.tz, site.name)}`;
}
