import { Box, Text } from 'ink';
import { memo } from 'react';
import type { StepRecord, StepStatus } from '../engine/events.js';
import { visibleLine } from '../output/neutralize.js';
import { MINUTE_MS } from './clock-resolution.js';
import { formatDuration } from '../runbook/duration.js';
import type { Fleet, Phase, Runbook, Step } from '../runbook/types.js';
import { baseNumber } from './fleet-layout.js';
import { STEP_MARK, stylesShow, theme } from './theme.js';

/** `hostSteps`: a step of a rollout's template, one line for every host's instance of it. */
type Row = { kind: 'phase'; title: string } | { kind: 'step'; step: Step } | { kind: 'hosts'; number: string; title: string; hostSteps: Step[] };

/** A rollout's steps once each (its hosts' instances together), then its canary checkpoint and the halts it came to. */
function fleetRows(phase: Phase, fleet: Fleet, records: Record<string, StepRecord>): Row[] {
  const byBase = new Map<string, Step[]>();
  for (const host of fleet.hosts) {
    const own = fleet.perHost[host];
    for (const step of [...(own?.steps ?? []), ...(own?.fallback ?? [])]) {
      const base = step.instanceOf?.baseId ?? step.id;
      byBase.set(base, [...(byBase.get(base) ?? []), step]);
    }
  }
  const rows: Row[] = [...byBase.values()].map((steps) => ({ kind: 'hosts', number: baseNumber(steps[0]!), title: steps[0]!.title, hostSteps: steps }));
  // Halts and per-batch checkpoints, one of each per batch, show once the rollout comes to them.
  const halts = new Set([...fleet.halts, ...fleet.batchCheckpoints.flatMap((checkpoint) => checkpoint.perBatch)].map((step) => step.id));
  const halted = (step: Step) => halts.has(step.id) && (records[step.id]?.status ?? 'pending') === 'pending';
  for (const step of phase.steps) if (step.instanceOf === undefined && !halted(step)) rows.push({ kind: 'step', step });
  return rows;
}

function rowsOf(runbook: Runbook, records: Record<string, StepRecord>): Row[] {
  const rows: Row[] = [];
  runbook.phases.forEach((phase, index) => {
    rows.push({ kind: 'phase', title: `${index + 1} ${phase.title}${phase.fleet ? ` · each of ${phase.fleet.hosts.length} hosts` : ''}` });
    if (phase.fleet) rows.push(...fleetRows(phase, phase.fleet, records));
    else for (const step of phase.steps) rows.push({ kind: 'step', step });
    if (phase.fallback !== undefined && phase.fallback.length > 0) {
      rows.push({ kind: 'phase', title: `  ↩ fallback of ${phase.name}` });
      for (const step of phase.fallback) rows.push({ kind: 'step', step });
    }
  });
  if (runbook.fallback.length > 0) {
    rows.push({ kind: 'phase', title: 'Fallback' });
    for (const step of runbook.fallback) rows.push({ kind: 'step', step });
  }
  return rows;
}

function elapsed(record: StepRecord, now: number): string {
  if (record.startedAt === undefined) return '';
  // Live durations tick once a second: whole seconds, never negative between ticks. A wait
  // for people counts whole minutes once it passed one, so an idle screen is redrawn once a minute.
  if (record.status === 'running' || record.status === 'waiting') {
    const live = Math.max(0, now - record.startedAt);
    const unit = record.status === 'waiting' && live >= MINUTE_MS ? MINUTE_MS : 1000;
    return formatDuration(Math.floor(live / unit) * unit);
  }
  if (record.endedAt === undefined) return '';
  return formatDuration(record.endedAt - record.startedAt);
}

function RunbookPanelView(props: { runbook: Runbook; steps: Record<string, StepRecord>; focusId: string | null; width: number; height: number; now: number }) {
  const rows = rowsOf(props.runbook, props.steps);
  const focusIndex = rows.findIndex(
    (row) => (row.kind === 'step' && row.step.id === props.focusId) || (row.kind === 'hosts' && row.hostSteps.some((step) => step.id === props.focusId)),
  );
  const visible = Math.max(1, props.height);
  const start = Math.max(0, Math.min(rows.length - visible, focusIndex - Math.floor(visible / 3)));
  const inner = props.width - 2;
  return (
    <Box flexDirection="column" width={props.width} height={props.height + 2} borderStyle="round" borderColor={theme.border}>
      {rows.slice(start, start + visible).map((row, index) => {
        if (row.kind === 'phase') {
          return (
            <Text key={`p${start + index}`} bold color={theme.accent} wrap="truncate-end">
              {row.title}
            </Text>
          );
        }
        if (row.kind === 'hosts') return <HostsRow key={`h${start + index}`} row={row} steps={props.steps} focusId={props.focusId} inner={inner} />;
        const record = props.steps[row.step.id]!;
        const { mark, color } = STEP_MARK[record.status];
        const time = elapsed(record, props.now);
        // A skipped step says why (its when: condition and what was found, or the person's reason).
        const why = record.status === 'skipped' && record.skipReason ? ` · skipped: ${visibleLine(record.skipReason)}` : '';
        const label = `${row.step.number} ${row.step.title}${why}${goingAgainNote(record)}`;
        const width = Math.max(4, inner - 3 - time.length - 1);
        const focused = row.step.id === props.focusId;
        return (
          <Box key={row.step.id}>
            <Text color={color}>{`${selectionMark(focused)}${mark} `}</Text>
            <Box width={width}>
              <Text wrap="truncate-end" bold={focused} inverse={focused}>
                {label}
              </Text>
            </Box>
            <Text color={theme.muted}>{time ? ` ${time}` : ''}</Text>
          </Box>
        );
      })}
    </Box>
  );
}

/** Before a step's mark: ▸ on the selected step where inverse and bold do not show, as the host grid does. */
function selectionMark(focused: boolean): string {
  return focused && !stylesShow() ? '▸' : ' ';
}

/** A template step of a rollout: the mark of its most pressing instance, and how many hosts have done it. */
function HostsRow(props: { row: Extract<Row, { kind: 'hosts' }>; steps: Record<string, StepRecord>; focusId: string | null; inner: number }) {
  const { row } = props;
  const statuses = row.hostSteps.map((step) => props.steps[step.id]?.status ?? 'pending');
  const has = (status: StepStatus) => statuses.includes(status);
  const status: StepStatus = has('failed')
    ? 'failed'
    : has('waiting')
      ? 'waiting'
      : has('running')
        ? 'running'
        : statuses.every((each) => each === 'done' || each === 'skipped')
          ? 'done'
          : 'pending';
  const { mark, color } = STEP_MARK[status];
  const count = `${statuses.filter((each) => each === 'done').length}/${statuses.length}`;
  const focused = row.hostSteps.some((step) => step.id === props.focusId);
  return (
    <Box>
      <Text color={color}>{`${selectionMark(focused)}${mark} `}</Text>
      <Box width={Math.max(4, props.inner - 3 - count.length - 1)}>
        <Text wrap="truncate-end" bold={focused} inverse={focused}>
          {`${row.number} ${row.title}`}
        </Text>
      </Box>
      <Text color={theme.muted}>{` ${count}`}</Text>
    </Box>
  );
}

/** A step done without running here: by the session this one goes again from, or found done by its check. */
function goingAgainNote(record: StepRecord): string {
  if (record.carriedFrom !== undefined) return ` (done by session ${visibleLine(record.carriedFrom)})`;
  if (record.foundDone === true) return ' (already done: check passed)';
  return '';
}

/** Drawn again only when its own props change: a key press must not redraw the whole screen. */
export const RunbookPanel = memo(RunbookPanelView);
