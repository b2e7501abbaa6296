// The report as Markdown, for a ticket or a wiki: the same record as the HTML page, the
// timeline as a table.
import { visibleLine, visibleText } from '../output/neutralize.js';
import { formatDuration } from '../runbook/duration.js';
import { bothClocks, dateAt, timeAt, type Sites } from './clocks.js';
import { attemptKey, shellKey, type LogExcerpt, type LogExcerpts } from './log-excerpt.js';
import type { ReportPaths } from './report-html.js';
import type { Rollout } from './rollout-record.js';
import { batchText, decisionSubject, rolloutHostCells } from './report-text.js';
import {
  actorText,
  attemptStatusText,
  attemptsOf,
  confirmationText,
  exitText,
  fallbacksText,
  outcomeText,
  shellSummary,
  stepName,
  stepsInOrder,
} from './report-text.js';
import type { SessionRecord, StepInfo } from './session-record.js';
import { linkLines, notRunText } from './going-again-text.js';
import { counted } from '../text/counted.js';

const MD_ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;' };

/**
 * Text that cannot turn into Markdown or HTML nor drive a terminal, on one line: emphasis, links, code, table
 * pipes escaped, tags as entities. Always used after something else on its line, so
 * markers that count only at a line's start (#, -, 1.) need nothing.
 */
export function mdText(text: string): string {
  return visibleLine(text.replace(/\n/g, ' ')).replace(/[\\`*_[\]|~<>&]/g, (char) => MD_ENTITIES[char] ?? `\\${char}`);
}

/** A fenced block that the text inside cannot close (the fence is longer than any run of backticks in it), its controls shown. */
export function mdCode(raw: string, info = ''): string {
  const text = visibleText(raw);
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text}\n${fence}`;
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

function clockHeads(sites: Sites): string[] {
  return [mdText(sites.upgrader.name), mdText(sites.site.name)];
}

function clocks(sites: Sites, at: number): string[] {
  return [timeAt(sites.upgrader, at), timeAt(sites.site, at)];
}

/** `none` when nothing happened, else a table: the given columns, then the time in each site's clock. */
function timedTable<T extends { at: number }>(items: T[], none: string, sites: Sites, head: string[], cells: (item: T) => string[]): string {
  return items.length === 0
    ? none
    : table(
        [...head, ...clockHeads(sites)],
        items.map((item) => [...cells(item), ...clocks(sites, item.at)]),
      );
}

export function reportMarkdown(record: SessionRecord, logs: LogExcerpts, paths: ReportPaths): string {
  const { sites } = record;
  const parts: string[] = [];
  parts.push(`# ${mdText(record.runbook.name || 'Session')}`);
  parts.push(
    [
      `- Session: \`${record.session}\`, **${mdText(outcomeText(record.outcome))}**${mdText(fallbacksText(record))}`,
      `- Runbook: ${mdText(record.runbook.file)} (sha256 ${mdText(record.runbook.hash)})`,
      ...(record.by ? [`- Upgrader: ${mdText(actorText(record.by))}`] : []),
      `- Started: ${mdText(`${dateAt(sites.upgrader, record.startedAt)} ${bothClocks(sites, record.startedAt)}`)}`,
      `- Last entry: ${mdText(`${dateAt(sites.upgrader, record.endedAt)} ${bothClocks(sites, record.endedAt)}`)}`,
      `- Duration: ${formatDuration(record.endedAt - record.startedAt)}`,
      `- Session folder: ${mdText(paths.sessionDir)}`,
      ...linkLines(record).map((line) => `- ${mdText(line)}`),
    ].join('\n'),
  );
  parts.push(
    table(
      ['', 'Name', 'Time zone'],
      [
        ['Upgrader', mdText(sites.upgrader.name), mdText(sites.upgrader.tz)],
        ['Site', mdText(sites.site.name), mdText(sites.site.tz)],
      ],
    ),
  );
  for (const warning of record.warnings) parts.push(`> **Warning:** ${mdText(warning)}`);

  parts.push('## Timeline');
  parts.push(
    record.attempts.length === 0
      ? 'No step ran.'
      : table(
          ['Step', 'Attempt', 'Result', ...clockHeads(sites), 'Duration'],
          record.attempts.map((attempt) => [
            mdText(`${attempt.fallback ? '↩ ' : ''}${stepName(record, attempt.stepId)}`),
            String(attempt.attempt),
            mdText([attemptStatusText(attempt), exitText(attempt)].filter(Boolean).join(', ')),
            ...clocks(sites, attempt.startedAt),
            formatDuration(attempt.durationMs),
          ]),
        ),
  );
  const milestones = record.events.filter((event) => event.type !== 'host.state');
  if (milestones.length > 0) {
    parts.push(
      table(
        [...clockHeads(sites), 'Session'],
        milestones.map((event) => [...clocks(sites, event.at), mdText(event.text)]),
      ),
    );
  }

  for (const rollout of record.rollouts ?? []) parts.push(...rolloutParts(record, rollout));

  parts.push('## Checkpoints and approvals');
  parts.push(
    timedTable(record.confirmations, 'No checkpoint was confirmed and no step approved.', sites, ['Step', 'What', 'Role', 'Who', 'Relayed'], (confirmation) => [
      mdText(stepName(record, confirmation.stepId)),
      mdText(confirmationText(confirmation)),
      mdText(confirmation.role),
      mdText(confirmation.by.name),
      confirmation.kind === 'confirmed' ? (confirmation.relayed ? 'yes' : 'no') : '',
    ]),
  );

  parts.push('## Decisions');
  parts.push(
    timedTable(record.decisions, 'No decisions were needed.', sites, ['Step', 'Action', 'Who', 'Reason'], (decision) => [
      mdText(decisionSubject(record, decision)),
      mdText(decision.action),
      mdText(actorText(decision.by)),
      mdText(decision.reason ?? ''),
    ]),
  );

  parts.push('## Skipped steps');
  parts.push(
    timedTable(record.skips, 'No step was skipped.', sites, ['Step', 'Who', 'Reason'], (skip) => [
      mdText(stepName(record, skip.stepId)),
      mdText(actorText(skip.by)),
      mdText(skip.reason),
    ]),
  );

  if (record.values !== undefined && record.values.length > 0) {
    parts.push('## Captured values');
    parts.push(
      timedTable(record.values, '', sites, ['Step', 'Name', 'Value'], (value) => [
        mdText(stepName(record, value.stepId)),
        mdText(value.name),
        mdText(value.value),
      ]),
    );
  }

  parts.push('## Chat');
  parts.push(
    record.chat.length === 0
      ? 'No chat.'
      : table(
          [...clockHeads(sites), 'From', 'Message'],
          record.chat.map((message) => [...clocks(sites, message.at), mdText(actorText(message.from)), mdText(message.text)]),
        ),
  );

  if (record.shells !== undefined && record.shells.length > 0) {
    parts.push('## Done by hand');
    for (const shell of record.shells) {
      parts.push(`### ${mdText(`Shell on ${shell.host}, by ${actorText(shell.by)}`)}`);
      parts.push(mdText(shellSummary(record, shell)));
      const log = logs.get(shellKey(shell));
      if (log) parts.push(outputMarkdown(log, paths));
    }
  }

  parts.push('## Steps');
  const { main, fallback } = stepsInOrder(record);
  for (const step of main) parts.push(stepMarkdown(record, step, logs, paths));
  if (fallback.length > 0) {
    parts.push('## Fallback');
    for (const step of fallback) parts.push(stepMarkdown(record, step, logs, paths));
  }
  return `${parts.join('\n\n')}\n`;
}

function stepMarkdown(record: SessionRecord, step: StepInfo, logs: LogExcerpts, paths: ReportPaths): string {
  const parts: string[] = [`### ${mdText(`${step.number} ${step.title}`.trim())}`];
  parts.push(mdText([step.kind, step.place === step.kind ? '' : step.place, step.phase ? `phase ${step.phase}` : ''].filter(Boolean).join(' · ')));
  if (step.command !== undefined) parts.push(mdCode(step.command.replace(/\n$/, ''), 'sh'));
  if (step.text !== undefined)
    parts.push(
      step.text
        .trim()
        .split('\n')
        .map((line) => `> ${mdText(line)}`)
        .join('\n'),
    );
  const attempts = attemptsOf(record, step.id);
  const notRun = attempts.length === 0 ? notRunText(record, step) : null;
  if (notRun) {
    parts.push(mdText(notRun.text));
    if (notRun.output !== undefined && notRun.output.trim() !== '') parts.push(mdCode(notRun.output.replace(/\n$/, '')));
  } else if (attempts.length === 0) parts.push('Not run.');
  for (const skip of record.skips.filter((candidate) => candidate.stepId === step.id)) {
    parts.push(`Skipped by ${mdText(actorText(skip.by))}: ${mdText(skip.reason)}`);
  }
  for (const attempt of attempts) {
    const result = [attemptStatusText(attempt), exitText(attempt), formatDuration(attempt.durationMs)].filter(Boolean).join(', ');
    parts.push(`**Attempt ${attempt.attempt}**: ${mdText(result)} (started ${mdText(bothClocks(record.sites, attempt.startedAt))})`);
    if (attempt.error) parts.push(`Error: ${mdText(attempt.error)}`);
    for (const note of attempt.reverts ?? []) parts.push(`Revert: ${mdText(note.text)} (${mdText(bothClocks(record.sites, note.at))})`);
    const log = logs.get(attemptKey(attempt));
    if (log) parts.push(outputMarkdown(log, paths));
  }
  return parts.join('\n\n');
}

function outputMarkdown(log: LogExcerpt, paths: ReportPaths): string {
  const full = `${paths.sessionDir}/${log.file}`;
  if (log.missing) return `Output: ${mdText(`${log.missing} (${full})`)}`;
  if (log.lines.length === 0) return 'No output.';
  const note = log.omittedLines > 0 ? `\n\n*The first ${counted(log.omittedLines, 'line')} are left out; the full log is ${mdText(full)}.*` : '';
  return `<details><summary>Output: ${counted(log.lines.length + log.omittedLines, 'line')}</summary>${note}\n\n${mdCode(log.lines.join('\n'))}\n\n</details>`;
}

/** A rollout: its hosts with their outcomes, then its batches in order with their times. */
function rolloutParts(record: SessionRecord, rollout: Rollout): string[] {
  const { sites } = record;
  const hosts = rollout.hosts.map((host) => rolloutHostCells(record, host));
  const count = (outcome: string) => rollout.hosts.filter((host) => host.outcome === outcome).length;
  return [
    `## Rollout of phase ${mdText(rollout.phase)}`,
    `${rollout.hosts.length} hosts: ${count('done')} done, ${count('failed')} failed, ${count('fell-back')} fell back, ${count('skipped')} skipped.`,
    table(
      ['Host', 'Batch', 'Outcome', 'Failed at', 'Why', 'Took'],
      hosts.map((cells) => [mdText(cells.host), cells.batch, mdText(cells.outcome), mdText(cells.failedAt), mdText(cells.reason), cells.took]),
    ),
    `### Batches of ${mdText(rollout.phase)}`,
    table(
      ['Batch', 'Result', ...clockHeads(sites), 'Duration'],
      rollout.batches.map((batch) => {
        const text = batchText(rollout, batch);
        return [
          mdText(text.title),
          mdText(text.result),
          ...clocks(sites, batch.startedAt),
          batch.endedAt !== undefined ? formatDuration(batch.endedAt - batch.startedAt) : '',
        ];
      }),
    ),
  ];
}
