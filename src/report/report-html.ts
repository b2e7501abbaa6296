// The report as one self-contained HTML page: inline style and picture, no scripts, no
// requests; long parts fold with <details>.
import { linkLines, notRunText } from './going-again-text.js';
import { formatDuration } from '../runbook/duration.js';
import { bothClocks, dateAt, timeAt, type Sites } from './clocks.js';
import { attemptKey, shellKey, type LogExcerpt, type LogExcerpts } from './log-excerpt.js';
import { html, Markup } from './markup.js';
import {
  actorText,
  attemptStatusText,
  attemptsOf,
  batchText,
  confirmationText,
  decisionSubject,
  exitText,
  fallbacksText,
  outcomeText,
  rolloutHostCells,
  shellSummary,
  stepName,
  stepsInOrder,
} from './report-text.js';
import type { Rollout } from './rollout-record.js';
import type { Attempt, CapturedValue, HandShellRecord, SessionRecord, StepInfo } from './session-record.js';
import { STATUS_COLOURS, timelineSvg } from './timeline-svg.js';
import { counted } from '../text/counted.js';

const STYLE = `
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d232b; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #d6dde5; padding-bottom: 0.2em; margin-top: 2em; }
h3 { margin-bottom: 0.3em; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0; }
th, td { text-align: left; vertical-align: top; padding: 0.3em 0.6em; border-bottom: 1px solid #e3e8ee; }
th { background: #f3f6f9; font-weight: 600; }
pre { background: #14181d; color: #e6e6e6; padding: 0.7em 1em; overflow-x: auto; border-radius: 4px; font: 13px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre; }
pre.command { background: #f3f6f9; color: #1d232b; border: 1px solid #d6dde5; }
.outcome { display: inline-block; padding: 0.15em 0.6em; border-radius: 3px; font-weight: 600; color: #fff; background: #555; }
.outcome-completed { background: #2e7d32; }
.outcome-fell-back { background: #c62828; }
.outcome-paused, .outcome-interrupted, .outcome-unfinished { background: #b26a00; }
.warning { background: #fff4e0; border-left: 4px solid #ef9f1f; padding: 0.5em 1em; }
.muted { color: #5d6873; }
.note { color: #5d6873; font-style: italic; }
.status-failed { color: #c62828; font-weight: 600; }
.status-interrupted, .status-running { color: #b26a00; font-weight: 600; }
.status-skipped { color: #6d6d6d; }
.fallback-step h3::before { content: "↩ "; color: #e07b00; }
article.step { border-left: 3px solid #d6dde5; padding-left: 1em; margin: 1.5em 0; }
article.step.fallback-step { border-left-color: #e07b00; }
article.step.failed-step { border-left-color: #c62828; }
.legend span { display: inline-block; margin-right: 1.2em; }
.legend i { display: inline-block; width: 1.6em; height: 0.8em; margin-right: 0.3em; vertical-align: middle; border-radius: 2px; }
.chat .from { font-weight: 600; }
tr.host-failed td:nth-child(3), tr.host-fell-back td:nth-child(3) { color: #c62828; font-weight: 600; }
tr.host-skipped td:nth-child(3), tr.host-running td:nth-child(3) { color: #b26a00; }
.chat .text { white-space: pre-wrap; }
details summary { cursor: pointer; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1em; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
`;

// Our own stylesheet, not foreign text: it goes in as it is.
const STYLE_MARKUP = new Markup(STYLE);

export interface ReportPaths {
  /** Where the full logs are, as the reader should find them: the session folder. */
  sessionDir: string;
}

export function reportHtml(record: SessionRecord, logs: LogExcerpts, paths: ReportPaths): string {
  const name = record.runbook.name || 'Session';
  const page = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${name}: session ${record.session} (${outcomeText(record.outcome)})</title>
<style>${STYLE_MARKUP}</style>
</head>
<body>
<header>
<h1>${name}</h1>
<p>Session <code>${record.session}</code> <span class="outcome outcome-${record.outcome}">${outcomeText(record.outcome)}</span>${fallbacksText(record)}</p>
${facts(record, paths)}
${sitesTable(record)}
</header>
${record.warnings.map((warning) => html`<p class="warning">${warning}</p>`)}
${section('timeline', 'Timeline', timelineSvg(record), legend())}
${(record.rollouts ?? []).map((rollout, index) => section(`rollout-${index + 1}`, `Rollout of phase ${rollout.phase}`, ...rolloutParts(record, rollout)))}
${section('confirmations', 'Checkpoints and approvals', confirmationsTable(record))}
${section('decisions', 'Decisions', decisionsTable(record))}
${section('skips', 'Skipped steps', skipsTable(record))}
${record.values !== undefined && record.values.length > 0 ? section('values', 'Captured values', valuesTable(record, record.values)) : ''}
${section('chat', 'Chat', chat(record))}
${section('events', 'Session and connections', eventsTable(record))}
${record.shells !== undefined && record.shells.length > 0 ? section('by-hand', 'Done by hand', ...record.shells.map((shell) => shellSection(record, shell, logs, paths))) : ''}
${section('steps', 'Steps', stepSections(record, logs, paths))}
</body>
</html>
`;
  return page.text;
}

/** A part of the page: its heading, then what it shows, each on its own line. */
function section(id: string, heading: string, ...body: Markup[]): Markup {
  return html`<section id="${id}">
<h2>${heading}</h2>
${body.map(
  (part) => html`${part}
`,
)}</section>`;
}

function facts(record: SessionRecord, paths: ReportPaths): Markup {
  const { sites } = record;
  return html`<dl class="facts">
<dt>Runbook</dt><dd><code>${record.runbook.file}</code></dd>
<dt>Runbook sha256</dt><dd><code>${record.runbook.hash}</code></dd>
${record.by ? html`<dt>Upgrader</dt><dd>${actorText(record.by)}</dd>` : ''}
<dt>Started</dt><dd>${dateAt(sites.upgrader, record.startedAt)} ${bothClocks(sites, record.startedAt)}</dd>
<dt>Last entry</dt><dd>${dateAt(sites.upgrader, record.endedAt)} ${bothClocks(sites, record.endedAt)}</dd>
<dt>Duration</dt><dd>${formatDuration(record.endedAt - record.startedAt)}</dd>
<dt>Session folder</dt><dd><code>${paths.sessionDir}</code></dd>
${linkLines(record).map((line) => html`<dt>Linked session</dt><dd class="linked-session">${line}</dd>`)}
</dl>`;
}

function sitesTable(record: SessionRecord): Markup {
  const { upgrader, site } = record.sites;
  return html`<table class="sites">
<tr><th></th><th>Name</th><th>Time zone</th><th>Clock at the start</th></tr>
<tr><th>Upgrader</th><td>${upgrader.name}</td><td>${upgrader.tz}</td><td>${dateAt(upgrader, record.startedAt)} ${timeAt(upgrader, record.startedAt)}</td></tr>
<tr><th>Site</th><td>${site.name}</td><td>${site.tz}</td><td>${dateAt(site, record.startedAt)} ${timeAt(site, record.startedAt)}</td></tr>
</table>`;
}

function legend(): Markup {
  const item = (colour: string, label: string) => html`<span><i style="background: ${colour}"></i>${label}</span>`;
  return html`<p class="legend muted">
${item(STATUS_COLOURS.done, 'done')}
${item('repeating-linear-gradient(45deg, #e07b00 0 3px, #fff 3px 5px)', 'fallback step, done')}
${item(STATUS_COLOURS.failed, 'failed ✗')}
${item(STATUS_COLOURS.skipped, 'skipped')}
${item(STATUS_COLOURS.interrupted, 'interrupted')}
${item(STATUS_COLOURS.running, 'no end recorded')}
<span>Axis: the upgrader's clock above, the site's below.</span>
</p>`;
}

function clockCells(sites: Sites, at: number): Markup {
  return html`<td>${timeAt(sites.upgrader, at)}</td><td>${timeAt(sites.site, at)}</td>`;
}

function clockHeads(sites: Sites): Markup {
  return html`<th>${sites.upgrader.name}</th><th>${sites.site.name}</th>`;
}

/** `none` when nothing happened, else a table: the given columns, then the time in each site's clock; `row` gives a row's class and cells. */
function timedTable<T extends { at: number }>(
  sites: Sites,
  items: readonly T[],
  none: string,
  tableClass: string,
  head: string[],
  row: (item: T) => { rowClass: string; cells: string[] },
): Markup {
  if (items.length === 0) return html`<p class="muted">${none}</p>`;
  const rows = items.map((item) => {
    const { rowClass, cells } = row(item);
    return html`<tr class="${rowClass}">${cells.map((cell) => html`<td>${cell}</td>`)}${clockCells(sites, item.at)}</tr>
`;
  });
  return html`<table class="${tableClass}">
<tr>${head.map((title) => html`<th>${title}</th>`)}${clockHeads(sites)}</tr>
${rows}</table>`;
}

function confirmationsTable(record: SessionRecord): Markup {
  return timedTable(
    record.sites,
    record.confirmations,
    'No checkpoint was confirmed and no step approved.',
    'confirmations',
    ['Step', 'What', 'Role', 'Who', 'Relayed'],
    (confirmation) => ({
      rowClass: `confirmation ${confirmation.kind}`,
      cells: [
        stepName(record, confirmation.stepId),
        confirmationText(confirmation),
        confirmation.role,
        confirmation.by.name,
        confirmation.kind === 'confirmed' ? (confirmation.relayed ? 'yes' : 'no') : '',
      ],
    }),
  );
}

function decisionsTable(record: SessionRecord): Markup {
  return timedTable(record.sites, record.decisions, 'No decisions were needed.', 'decisions', ['Step', 'Action', 'Who', 'Reason'], (decision) => ({
    rowClass: 'decision',
    cells: [decisionSubject(record, decision), decision.action, actorText(decision.by), decision.reason ?? ''],
  }));
}

function skipsTable(record: SessionRecord): Markup {
  return timedTable(record.sites, record.skips, 'No step was skipped.', 'skips', ['Step', 'Who', 'Reason'], (skip) => ({
    rowClass: 'skip',
    cells: [stepName(record, skip.stepId), actorText(skip.by), skip.reason],
  }));
}

function valuesTable(record: SessionRecord, values: CapturedValue[]): Markup {
  return timedTable(record.sites, values, '', 'values', ['Step', 'Name', 'Value'], (value) => ({
    rowClass: 'value',
    cells: [stepName(record, value.stepId), value.name, value.value],
  }));
}

function chat(record: SessionRecord): Markup {
  if (record.chat.length === 0) return html`<p class="muted">No chat.</p>`;
  return html`<table class="chat">
<tr>${clockHeads(record.sites)}<th>From</th><th>Message</th></tr>
${record.chat.map(
  (
    message,
  ) => html`<tr class="chat-message">${clockCells(record.sites, message.at)}<td class="from">${actorText(message.from)}</td><td class="text">${message.text}</td></tr>
`,
)}</table>`;
}

function eventsTable(record: SessionRecord): Markup {
  if (record.events.length === 0) return html`<p class="muted">Nothing recorded.</p>`;
  return html`<details><summary>${record.events.length} entries: starts, resumptions, pauses, the fallback and connection changes</summary>
<table class="events">
<tr>${clockHeads(record.sites)}<th>What</th></tr>
${record.events.map(
  (event) => html`<tr>${clockCells(record.sites, event.at)}<td>${event.text}</td></tr>
`,
)}</table></details>`;
}

function stepSections(record: SessionRecord, logs: LogExcerpts, paths: ReportPaths): Markup {
  const { main, fallback } = stepsInOrder(record);
  return html`${main.map((step) => stepSection(record, step, logs, paths))}
${
  fallback.length > 0
    ? html`<h2 id="fallback">Fallback</h2>
${fallback.map((step) => stepSection(record, step, logs, paths))}`
    : ''
}`;
}

function stepSection(record: SessionRecord, step: StepInfo, logs: LogExcerpts, paths: ReportPaths): Markup {
  const attempts = attemptsOf(record, step.id);
  const failed = attempts.at(-1)?.status === 'failed';
  const classes = ['step', step.phase === null ? 'fallback-step' : '', failed ? 'failed-step' : ''].filter(Boolean).join(' ');
  const skip = record.skips.filter((candidate) => candidate.stepId === step.id);
  return html`<article class="${classes}" id="step-${step.id}" data-step="${step.id}">
<h3>${step.number} ${step.title}</h3>
<p class="muted">${step.kind}${step.place && step.place !== step.kind ? html` · ${step.place}` : ''}${step.phase ? html` · phase ${step.phase}` : ''}</p>
${step.command !== undefined ? html`<pre class="command">${step.command}</pre>` : ''}
${step.text !== undefined ? html`<blockquote>${step.text}</blockquote>` : ''}
${attempts.length === 0 ? notRunSection(record, step) : ''}
${skip.map((entry) => html`<p class="status-skipped">Skipped by ${actorText(entry.by)}: ${entry.reason}</p>`)}
${attempts.map((attempt) => attemptSection(record.sites, attempt, logs.get(attemptKey(attempt)), paths))}
</article>
`;
}

function notRunSection(record: SessionRecord, step: StepInfo): Markup {
  const notRun = notRunText(record, step);
  if (!notRun) return html`<p class="muted">Not run.</p>`;
  const output = notRun.output !== undefined && notRun.output.trim() !== '' ? html`<pre>${notRun.output.replace(/\n$/, '')}</pre>` : '';
  return html`<p class="status-done">${notRun.text}</p>
${output}`;
}

function attemptSection(sites: Sites, attempt: Attempt, log: LogExcerpt | undefined, paths: ReportPaths): Markup {
  const exit = exitText(attempt);
  return html`<div class="attempt" data-attempt="${attempt.attempt}">
<p><strong>Attempt ${attempt.attempt}</strong>: <span class="status-${attempt.status}">${attemptStatusText(attempt)}</span>${exit ? html`, ${exit}` : ''}, ${formatDuration(attempt.durationMs)}
<span class="muted">(started ${bothClocks(sites, attempt.startedAt)})</span></p>
${attempt.error ? html`<p class="status-failed">${attempt.error}</p>` : ''}
${(attempt.reverts ?? []).map((note) => html`<p class="revert">Revert: ${note.text} <span class="muted">(${bothClocks(sites, note.at)})</span></p>`)}
${log ? outputDetails(log, paths) : ''}
</div>`;
}

function shellSection(record: SessionRecord, shell: HandShellRecord, logs: LogExcerpts, paths: ReportPaths): Markup {
  const log = logs.get(shellKey(shell));
  return html`<div class="shell">
<h3>Shell on ${shell.host}, by ${actorText(shell.by)}</h3>
<p>${shellSummary(record, shell)}</p>
${log ? outputDetails(log, paths) : ''}
</div>`;
}

function outputDetails(log: LogExcerpt, paths: ReportPaths): Markup {
  const full = `${paths.sessionDir}/${log.file}`;
  if (log.missing) return html`<p class="note">Output: ${log.missing} (${full})</p>`;
  if (log.lines.length === 0) return html`<p class="muted">No output.</p>`;
  const shown = log.lines.length;
  return html`<details class="output"><summary>Output: ${counted(shown + log.omittedLines, 'line')}</summary>
${log.omittedLines > 0 ? html`<p class="note">The first ${counted(log.omittedLines, 'line')} are left out; the full log is ${full}.</p>` : ''}
<pre>${log.lines.join('\n')}</pre>
</details>`;
}

/** A rollout: its hosts with their outcomes, then a timeline of its batches. */
function rolloutParts(record: SessionRecord, rollout: Rollout): Markup[] {
  const { sites } = record;
  const count = (outcome: string) => rollout.hosts.filter((host) => host.outcome === outcome).length;
  const hosts = rollout.hosts.map((host) => {
    const cells = rolloutHostCells(record, host);
    return html`<tr class="host-${host.outcome}"><td>${cells.host}</td><td>${cells.batch}</td><td>${cells.outcome}</td><td>${cells.failedAt}</td><td>${cells.reason}</td><td>${cells.took}</td></tr>
`;
  });
  const batches = rollout.batches.map((batch) => {
    const text = batchText(rollout, batch);
    return html`<tr class="${batch.halted ? 'batch halted' : 'batch'}"><td>${text.title}</td><td>${text.result}</td>${clockCells(sites, batch.startedAt)}<td>${
      batch.endedAt !== undefined ? formatDuration(batch.endedAt - batch.startedAt) : ''
    }</td></tr>
`;
  });
  return [
    html`<p>${rollout.hosts.length} hosts: ${count('done')} done, ${count('failed')} failed, ${count('fell-back')} fell back, ${count('skipped')} skipped.</p>`,
    html`<table class="rollout-hosts">
<tr><th>Host</th><th>Batch</th><th>Outcome</th><th>Failed at</th><th>Why</th><th>Took</th></tr>
${hosts}</table>`,
    html`<h3>Batches</h3>`,
    html`<table class="rollout-batches">
<tr><th>Batch</th><th>Result</th>${clockHeads(sites)}<th>Duration</th></tr>
${batches}</table>`,
  ];
}
