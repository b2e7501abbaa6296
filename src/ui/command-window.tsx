// A step's command as the screen shows it: whole when it fits in `rows`, else the lines from
// its end scrolled back by `scroll` (PgUp PgDn), a row above and below saying how many more
// there are; the line acting on a destructive step's target marked ▶, and where it is when out
// of sight. The destructive prompt and the output panel (before a command prints) both use it.
import { Text } from 'ink';
import { counted } from '../text/counted.js';
import { actingLine } from '../text/steps.js';
import { theme } from './theme.js';

export function CommandWindow(props: { command: string; rows: number; scroll: number; target?: string; muted?: boolean }) {
  const lines = props.command.trimEnd().split('\n');
  const acting = props.target !== undefined ? actingLine(props.command, props.target) : undefined;
  const fits = lines.length <= props.rows;
  // The rows saying what is above and below, where there is room for them.
  const marks = !fits && props.rows >= 3;
  const window = fits ? lines.length : marks ? props.rows - 2 : Math.max(1, props.rows);
  const start = fits ? 0 : Math.max(0, lines.length - window - props.scroll);
  const end = Math.min(lines.length, start + window);
  const named = acting ? ` · ▶ line ${acting.index + 1} names ${props.target}` : '';
  const plain = props.muted ? { color: theme.muted } : {};
  return (
    <>
      {marks ? (
        <Text color={theme.muted} wrap="truncate-end">
          {start > 0 ? `↑ ${counted(start, 'line')} above (PgUp)${acting && acting.index < start ? named : ''}` : ' '}
        </Text>
      ) : null}
      {lines.slice(start, end).map((line, offset) => {
        const index = start + offset;
        const marked = index === acting?.index;
        return (
          <Text key={index} wrap="truncate-end" {...(marked ? { color: theme.danger, bold: true } : plain)}>
            {`${marked ? '▶' : index === 0 ? '$' : ' '} ${line}`}
          </Text>
        );
      })}
      {marks ? (
        <Text color={theme.muted} wrap="truncate-end">
          {end < lines.length ? `↓ ${counted(lines.length - end, 'line')} below (PgDn)${acting && acting.index >= end ? named : ''}` : ' '}
        </Text>
      ) : null}
    </>
  );
}
