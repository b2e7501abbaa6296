import { Box, Text } from 'ink';
import { memo } from 'react';
import type { ConnectionState } from '../remote/types.js';
import type { Runbook } from '../runbook/types.js';
import { clockIn, weekdayIn } from '../text/clock.js';
import { HOST_MARK, theme } from './theme.js';

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
  return (
    <Box width={props.width} justifyContent="space-between">
      <Box gap={2} flexShrink={1} overflow="hidden">
        <Box flexShrink={0}>
          <Text color={theme.muted}>{props.sessionId}</Text>
        </Box>
        {props.helpers ? (
          <Box flexShrink={0}>
            <Text color={props.helpers.includes('LOCKED') ? theme.danger : theme.warning}>{props.helpers}</Text>
          </Box>
        ) : null}
        <Text wrap="truncate-end">
          {Object.entries(props.hosts).map(([host, state], index) => {
            const { mark, color } = HOST_MARK[state.state];
            // Connected and idle hosts say so by their mark; anything else is spelled out.
            const word =
              state.state === 'connected' || state.state === 'idle'
                ? ''
                : state.state === 'reconnecting'
                  ? ` reconnecting (attempt ${state.attempt + 1} in ${Math.max(0, Math.ceil((state.nextTryAt - props.now) / 1000))}s)`
                  : ` ${state.state}`;
            return (
              <Text key={host}>
                {index > 0 ? '  ' : ''}
                <Text color={color}>{mark}</Text> {host}
                <Text color={color}>{word}</Text>
              </Text>
            );
          })}
        </Text>
      </Box>
      <Box gap={2} flexShrink={0}>
        <Text>{clock(upgrader)}</Text>
        <Text bold>{clock(site)}</Text>
        <Text color={theme.muted}>? keys</Text>
      </Box>
    </Box>
  );
}

/** Drawn again only when its own props change: a key press must not redraw the whole screen. */
export const StatusBar = memo(StatusBarView);
