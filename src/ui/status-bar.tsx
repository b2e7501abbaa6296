import { Box, Text } from 'ink';
import { memo } from 'react';
import type { ConnectionState } from '../remote/types.js';
import type { Runbook } from '../runbook/types.js';
import { clockIn, weekdayIn } from '../text/clock.js';
import { HOST_MARK, theme } from './theme.js';

const GAP = 2;

/** Connected and idle hosts say so by their mark; anything else is spelled out. */
function hostWord(state: ConnectionState, now: number): string {
  if (state.state === 'connected' || state.state === 'idle') return '';
  if (state.state === 'reconnecting') {
    return ` reconnecting (attempt ${state.attempt + 1} in ${Math.max(0, Math.ceil((state.nextTryAt - now) / 1000))}s)`;
  }
  return ` ${state.state}`;
}

function StatusBarView(props: {
  sessionId: string;
  runbook: Runbook;
  hosts: Record<string, ConnectionState>;
  now: number;
  width: number;
  /** The helper channel's code and place, or null. */
  helpers?: string | null;
}) {
  const { upgrader, site } = props.runbook.sites;
  const clock = (where: { name: string; tz: string }) => `${where.name} ${weekdayIn(where.tz, props.now)} ${clockIn(where.tz, props.now)}`;
  const clocks = [clock(upgrader), clock(site), '? keys'];
  const hosts = Object.entries(props.hosts).map(([host, state]) => ({ host, ...HOST_MARK[state.state], word: hostWord(state, props.now) }));
  const hostsText = hosts.map(({ host, mark, word }) => `${mark} ${host}${word}`).join('  ');
  // The join code is shown whole or not at all, and gives way to the hosts' states when room
  // is short (the chat panel shows it too); a lockout is always shown.
  const locked = props.helpers?.includes('LOCKED') === true;
  const widthOf = (parts: string[]) => parts.reduce((sum, part) => sum + [...part].length + GAP, -GAP);
  const helpers = props.helpers && (locked || widthOf([props.sessionId, hostsText, props.helpers, ...clocks]) <= props.width) ? props.helpers : null;
  return (
    <Box width={props.width} justifyContent="space-between" gap={GAP}>
      <Box gap={GAP} flexShrink={1} overflow="hidden">
        <Box flexShrink={0}>
          <Text color={theme.muted}>{props.sessionId}</Text>
        </Box>
        <Text wrap="truncate-end">
          {hosts.map(({ host, mark, color, word }, index) => (
            <Text key={host}>
              {index > 0 ? '  ' : ''}
              <Text color={color}>{mark}</Text> {host}
              <Text color={color}>{word}</Text>
            </Text>
          ))}
        </Text>
        {helpers ? (
          <Box flexShrink={0}>
            <Text color={locked ? theme.danger : theme.warning}>{helpers}</Text>
          </Box>
        ) : null}
      </Box>
      <Box gap={GAP} flexShrink={0}>
        <Text>{clocks[0]}</Text>
        <Text bold>{clocks[1]}</Text>
        <Text color={theme.muted}>{clocks[2]}</Text>
      </Box>
    </Box>
  );
}

/** Drawn again only when its own props change: a key press must not redraw the whole screen. */
export const StatusBar = memo(StatusBarView);
