import { Box, Text } from 'ink';
import { helpList } from './key-map.js';
import { theme } from './theme.js';

const KEYS = helpList();
const KEY_COLUMN = 16;

/** Words of `text` in lines of at most `width` columns (a word longer than that is cut). */
function wrapped(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '';
    }
    line = line === '' ? word.slice(0, width) : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Every key with what it does, wrapped to `width` columns: the key on the first row of each. */
function helpRows(width: number): Array<{ key: string; text: string }> {
  const room = Math.max(10, width - KEY_COLUMN);
  return KEYS.flatMap(([key, what]) => wrapped(what, room).map((text, index) => ({ key: index === 0 ? key : '', text })));
}

/** How many rows of the list show in an overlay `height` rows high, and whether all do. */
function helpWindow(count: number, height: number): { fits: boolean; window: number } {
  const room = Math.max(1, height - 3);
  return count <= room ? { fits: true, window: count } : { fits: false, window: Math.max(1, room - 1) };
}

/** How far the list can be scrolled in an overlay of that size: past it PgUp would seem dead. */
export function helpMaxScroll(width: number, height: number): number {
  const count = helpRows(width - 4).length;
  return count - helpWindow(count, height).window;
}

/**
 * The keys, in `height` rows (its border included) of `width` columns: every row whole, a
 * window of them scrolled by `scroll` (PgUp PgDn) when they do not all fit.
 */
export function HelpOverlay(props: { width: number; height: number; scroll: number }) {
  const rows = helpRows(props.width - 4);
  const { fits, window } = helpWindow(rows.length, props.height);
  const start = Math.min(props.scroll, rows.length - window);
  const shown = rows.slice(start, start + window);
  const below = rows.length - start - shown.length;
  return (
    <Box flexDirection="column" width={props.width} height={props.height} borderStyle="round" borderColor={theme.accent} paddingX={1} overflow="hidden">
      <Text bold color={theme.accent} wrap="truncate-end">
        {fits ? 'Keys · Esc or ? closes' : `Keys · PgUp PgDn scroll (${start > 0 ? `${start} rows above` : 'the top'}) · Esc or ? closes`}
      </Text>
      {shown.map((row, index) => (
        <Text key={start + index} wrap="truncate-end">
          <Text bold>{row.key.padEnd(KEY_COLUMN)}</Text>
          {row.text}
        </Text>
      ))}
      {!fits ? <Text color={theme.muted}>{below > 0 ? `↓ ${below} more rows (PgDn)` : ' '}</Text> : null}
    </Box>
  );
}
