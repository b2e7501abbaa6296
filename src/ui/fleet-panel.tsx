import { Box, Text } from 'ink';
import { memo } from 'react';
import type { StepRecord } from '../engine/events.js';
import type { FleetView } from '../engine/fleet-view.js';
import { fleetRows, type FleetRow } from './fleet-layout.js';
import { paint, theme } from './theme.js';

function Row(props: { row: FleetRow }) {
  const { row } = props;
  switch (row.kind) {
    case 'text':
      return (
        <Text wrap="truncate-end" bold={row.bold === true} {...(row.color ? { color: row.color } : {})}>
          {row.text}
        </Text>
      );
    case 'host':
      return (
        <Text wrap="truncate-end" inverse={row.selected} bold={row.selected}>
          <Text color={row.color}>{row.selected ? `▸${row.mark} ` : ` ${row.mark} `}</Text>
          {row.text}
        </Text>
      );
    case 'step':
      return (
        <Text wrap="truncate-end">
          {'    '}
          <Text color={row.color}>{row.mark}</Text> {row.text}
        </Text>
      );
    case 'grid':
      return <Text wrap="truncate-end">{gridLine(row.cells)}</Text>;
  }
}

/** A line of the dense grid as one painted string, marks of one colour in a run together. */
function gridLine(cells: Extract<FleetRow, { kind: 'grid' }>['cells']): string {
  let line = '';
  let run = '';
  let runColor = '';
  for (const cell of cells) {
    if (!cell.selected && cell.color === runColor) {
      run += cell.mark;
      continue;
    }
    if (run !== '') line += paint(run, runColor);
    if (cell.selected) {
      line += paint(cell.mark, cell.color, true);
      run = '';
      runColor = '';
    } else {
      run = cell.mark;
      runColor = cell.color;
    }
  }
  return run !== '' ? line + paint(run, runColor) : line;
}

/** The host grid of a rollout (see fleet-layout.ts for what goes where). `height`: lines inside the border. */
function FleetPanelView(props: { view: FleetView; steps: Record<string, StepRecord>; selected: string | null; width: number; height: number; now: number }) {
  const rows = fleetRows(props.view, { width: props.width - 2, height: props.height, now: props.now, selected: props.selected, steps: props.steps });
  return (
    <Box flexDirection="column" width={props.width} height={props.height + 2} borderStyle="round" borderColor={theme.border} overflow="hidden">
      {rows.map((row, index) => (
        <Row key={index} row={row} />
      ))}
    </Box>
  );
}

export const FleetPanel = memo(FleetPanelView);
