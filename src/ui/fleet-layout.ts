// What the host grid shows of a rollout in a box of a given size: a heading with the counts,
// one line per batch (the latest ones), then the hosts. Hosts get a line each while they fit;
// beyond that those that need someone (failed, waiting) and those at work keep their lines
// and every host is one mark in a dense grid, in the group's order, scrolled to the selected
// host. Pure: the component (fleet-panel.tsx) only draws these rows.
import type { StepRecord } from '../engine/events.js';
import type { BatchView, FleetView, HostView } from '../engine/fleet-view.js';
import { visibleLine } from '../output/neutralize.js';
import { formatDuration } from '../runbook/duration.js';
import type { Step } from '../runbook/types.js';
import { HOST_OUTCOME_MARK, STEP_MARK, theme, type HostMarkState } from './theme.js';

export type FleetRow =
  | { kind: 'text'; text: string; color?: string; bold?: boolean }
  | { kind: 'host'; host: string; mark: string; color: string; text: string; selected: boolean }
  | { kind: 'step'; mark: string; color: string; text: string }
  | { kind: 'grid'; cells: Array<{ host: string; mark: string; color: string; selected: boolean }> };

export interface FleetLayoutOptions {
  /** Characters inside the box. */
  width: number;
  /** Lines inside the box. */
  height: number;
  now: number;
  /** The host the upgrader selected, if any. */
  selected: string | null;
  steps: Record<string, StepRecord>;
}

export function hostMarkState(view: HostView): HostMarkState {
  return view.waiting ? 'waiting' : view.outcome;
}

/** A step's number without its host (`2.3@vm2` is 2.3 in a line that names vm2). */
export function baseNumber(step: Step): string {
  const host = step.instanceOf?.host;
  return host !== undefined && step.number.endsWith(`@${host}`) ? step.number.slice(0, -host.length - 1) : step.number;
}

const OUTCOME_WORDS: Array<[HostMarkState, string]> = [
  ['waiting', 'waiting'],
  ['failed', 'failed'],
  ['fell-back', 'fell back'],
  ['skipped', 'skipped'],
  ['running', 'running'],
  ['queued', 'queued'],
  ['done', 'done'],
];

/** "3 done, 1 failed, 2 running": a batch's hosts by where they stand, failures first (waiting hosts count as running). */
export function batchSummary(view: FleetView, batch: BatchView): string {
  const hosts = view.hosts.filter((host) => host.batch === batch.index);
  const count = (state: HostMarkState) => hosts.filter((host) => hostMarkState(host) === state).length;
  const parts = [
    batch.done > 0 ? `${batch.done} done` : '',
    batch.failed > 0 ? `${batch.failed} failed` : '',
    count('waiting') > 0 ? `${count('waiting')} waiting` : '',
    count('running') > 0 ? `${count('running')} running` : '',
    count('queued') > 0 ? `${count('queued')} queued` : '',
  ].filter((part) => part !== '');
  const state = batch.state === 'halted' ? ' · halted' : batch.state === 'pending' ? ' · pending' : '';
  return `${batch.canary ? 'canary ' : ''}batch ${batch.index + 1}/${view.batches.length}: ${parts.join(', ') || 'no hosts'}${state}`;
}

function elapsedOf(view: HostView, now: number): string {
  if (view.startedAt === undefined) return '';
  const end = view.endedAt ?? now;
  // Whole seconds, as the runbook panel ticks.
  const seconds = Math.floor(Math.max(0, end - view.startedAt) / 1000);
  return seconds === 0 ? '0s' : formatDuration(seconds * 1000);
}

/** What a host's line says after its name: the step it is at, or how it ended and why. */
export function hostText(view: HostView): string {
  const step = view.step ? `${baseNumber(view.step)} ${visibleLine(view.step.title)}` : '';
  const why = view.error !== undefined ? `: ${visibleLine(view.error)}` : '';
  switch (hostMarkState(view)) {
    case 'queued':
      return 'queued';
    case 'waiting':
      // The error matters more than the title on a narrow line; the step list has the title.
      return view.stepStatus === 'failed' && view.step ? `${baseNumber(view.step)} FAILED${why}` : `${step} waits`;
    case 'running':
      return step;
    case 'done':
      return 'done';
    case 'failed':
      return `failed${step ? ` at ${step}` : ''}${why}`;
    case 'fell-back':
      return `fell back${why}`;
    case 'skipped':
      return `skipped${why}`;
  }
}

function hostRow(view: HostView, nameWidth: number, options: FleetLayoutOptions): FleetRow {
  const { mark, color } = HOST_OUTCOME_MARK[hostMarkState(view)];
  const name = visibleLine(view.host);
  const shown = name.length > nameWidth ? `${name.slice(0, nameWidth - 1)}…` : name.padEnd(nameWidth);
  const elapsed = elapsedOf(view, options.now);
  return {
    kind: 'host',
    host: view.host,
    mark,
    color,
    text: `${shown} ${elapsed ? `${elapsed.padStart(6)} ` : ''}${hostText(view)}`,
    selected: view.host === options.selected,
  };
}

function countsText(view: FleetView): string {
  const count = (state: HostMarkState) => view.hosts.filter((host) => hostMarkState(host) === state).length;
  return OUTCOME_WORDS.filter(([state]) => count(state) > 0)
    .map(([state, word]) => `${HOST_OUTCOME_MARK[state].mark}${count(state)} ${word}`)
    .join(' ');
}

/** The batch lines that fit in `room`: the ones up to the batch in progress (older ones summed up in one line), then the next. */
function batchRows(view: FleetView, room: number): FleetRow[] {
  const total = view.batches.length;
  if (room <= 0 || total === 0) return [];
  const current = Math.min(view.batch, total - 1);
  const next = current + 1 < total && room >= 2 ? 1 : 0;
  const available = room - next;
  // All up to the current one fit, or the current one alone, or a sum of the older ones and the latest.
  const own = current + 1 <= available ? current + 1 : available === 1 ? 1 : available - 1;
  const first = current + 1 - own;
  const rows: FleetRow[] = [];
  if (first > 0 && available > 1) {
    const earlier = view.batches.slice(0, first);
    const done = earlier.reduce((sum, batch) => sum + batch.done, 0);
    const failed = earlier.reduce((sum, batch) => sum + batch.failed, 0);
    rows.push({ kind: 'text', text: `batches 1–${first}/${total}: ${done} done, ${failed} failed`, color: theme.muted });
  }
  for (let index = first; index <= current; index += 1) {
    const batch = view.batches[index]!;
    rows.push({ kind: 'text', text: batchSummary(view, batch), ...(batch.state === 'halted' ? { color: theme.danger } : {}), bold: index === current });
  }
  if (next) rows.push({ kind: 'text', text: batchSummary(view, view.batches[current + 1]!), color: theme.muted });
  return rows;
}

/** The dense grid: every host a mark, in the group's order, `rows` lines at most, scrolled to show `focus`. */
function gridRows(view: FleetView, width: number, rows: number, focus: string | null, selected: string | null): FleetRow[] {
  const byHost = new Map(view.hosts.map((host) => [host.host, host]));
  const order = view.fleet.hosts;
  const perRow = Math.max(1, width);
  const allRows = Math.ceil(order.length / perRow);
  const focusRow = focus ? Math.floor(Math.max(0, order.indexOf(focus)) / perRow) : 0;
  const start = allRows <= rows ? 0 : Math.max(0, Math.min(allRows - rows, focusRow - Math.floor(rows / 2)));
  const out: FleetRow[] = [];
  for (let row = start; row < Math.min(allRows, start + rows); row += 1) {
    const cells = order.slice(row * perRow, (row + 1) * perRow).map((host) => {
      const { mark, color } = HOST_OUTCOME_MARK[hostMarkState(byHost.get(host)!)];
      return { host, mark, color, selected: host === selected };
    });
    out.push({ kind: 'grid', cells });
  }
  return out;
}

/** The selected host: its line, then its steps (and its fallback's, once it falls back) with their marks. */
function selectedRows(view: FleetView, host: HostView, nameWidth: number, options: FleetLayoutOptions, room: number): FleetRow[] {
  const own = view.fleet.perHost[host.host];
  if (!own) return [];
  const fallingBack = own.fallback.some((step) => (options.steps[step.id]?.status ?? 'pending') !== 'pending');
  const steps = [...own.steps, ...(fallingBack ? own.fallback : [])];
  const rows: FleetRow[] = [hostRow(host, nameWidth, options)];
  for (const step of steps.slice(0, Math.max(0, room - 1))) {
    const record = options.steps[step.id];
    const status = record?.status ?? 'pending';
    const { mark, color } = STEP_MARK[status];
    const took = record?.startedAt !== undefined && record.endedAt !== undefined ? ` ${formatDuration(record.endedAt - record.startedAt)}` : '';
    rows.push({ kind: 'step', mark, color, text: `${baseNumber(step)} ${visibleLine(step.title)}${took}` });
  }
  return rows;
}

export function fleetRows(view: FleetView, options: FleetLayoutOptions): FleetRow[] {
  const { width, height } = options;
  const heading = `${visibleLine(view.title)} · ${view.hosts.length} hosts · batch ${Math.min(view.batch + 1, view.batches.length)}/${view.batches.length}${
    view.stopping ? ' · STOPPING after this batch' : ''
  }`;
  // In a small box the counts go on the heading's line.
  const rows: FleetRow[] =
    height >= 5
      ? [
          { kind: 'text', text: heading, bold: true },
          { kind: 'text', text: countsText(view) },
        ]
      : [{ kind: 'text', text: `${heading} · ${countsText(view)}`, bold: true }];
  const hostsRoom = (batchLines: number) => height - rows.length - batchLines;
  // Batches get up to a quarter of the lines; hosts the rest.
  rows.push(...batchRows(view, Math.min(view.batches.length, Math.max(1, Math.floor(height / 4)), Math.max(0, height - rows.length - 1))));
  let room = hostsRoom(0);
  if (room <= 0) return rows.slice(0, height);
  const nameWidth = Math.max(4, Math.min(16, Math.max(...view.hosts.map((host) => visibleLine(host.host).length)), Math.floor(width / 3)));
  const selected = options.selected !== null ? view.hosts.find((host) => host.host === options.selected) : undefined;
  if (!selected && view.hosts.length <= room) return [...rows, ...view.hosts.map((host) => hostRow(host, nameWidth, options))];

  const gridLines = Math.ceil(view.fleet.hosts.length / Math.max(1, width));
  if (selected) {
    const own = view.fleet.perHost[selected.host];
    const wanted = 1 + (own ? own.steps.length + own.fallback.length : 0);
    const shown = selectedRows(view, selected, nameWidth, options, Math.min(wanted, Math.max(1, room - Math.min(gridLines, 2))));
    rows.push(...shown);
    room -= shown.length;
  }
  {
    // Those that need someone, then those at work, each on its line; the rest only in the grid.
    const notable = view.hosts.filter((host) => host.outcome !== 'queued' && host.outcome !== 'done' && host !== selected);
    const wanted = selected ? room - gridLines - 1 : Math.max(room - gridLines, Math.min(3, room - 1));
    const lines = Math.min(notable.length, wanted, room - 1);
    const shown = notable.slice(0, Math.max(0, lines));
    rows.push(...shown.map((host) => hostRow(host, nameWidth, options)));
    room -= shown.length;
    const hidden = notable.length - shown.length;
    if (hidden > 0 && room > gridLines + 1) {
      rows.push({ kind: 'text', text: `… ${hidden} more at work or failed`, color: theme.muted });
      room -= 1;
    }
  }
  if (room <= 0) return rows.slice(0, height);
  const scrolled = gridLines > room;
  const gridRoom = scrolled ? Math.max(1, room - 1) : room;
  const focus = selected?.host ?? view.hosts.find((host) => host.waiting)?.host ?? null;
  const grid = gridRows(view, width, gridRoom, focus, options.selected);
  rows.push(...grid);
  if (scrolled && room > 1) {
    rows.push({ kind: 'text', text: `grid: ${grid.length} of ${gridLines} lines (← → select a host)`, color: theme.muted });
  }
  return rows.slice(0, height);
}
