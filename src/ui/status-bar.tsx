import { Box, Text } from 'ink';
import { memo } from 'react';
import type { ConnectionState } from '../remote/types.js';
import type { Runbook } from '../runbook/types.js';
import { clockIn, weekdayIn } from '../text/clock.js';
import { HOST_MARK, paint, theme } from './theme.js';

const GAP = 2;

/** Connected and idle hosts say so by their mark; anything else is spelled out, and a login through a spare way in. */
function hostWord(state: ConnectionState, now: number): string {
  // Logged in through a spare way in (runbook spare_access): its main port does not answer.
  if (state.state === 'connected' && state.through !== undefined) return ' via spare';
  if (state.state === 'connected' || state.state === 'idle') return '';
  if (state.state === 'reconnecting') {
    return ` reconnecting (attempt ${state.attempt + 1} in ${Math.max(0, Math.ceil((state.nextTryAt - now) / 1000))}s)`;
  }
  return ` ${state.state}`;
}

interface HostShown {
  host: string;
  mark: string;
  color: string;
  word: string;
}

/** "● h1  ↻ h2 reconnecting (...)": plain, to measure, or painted, to draw. */
function hostsLine(hosts: HostShown[], painted: boolean): string {
  return hosts.map(({ host, mark, color, word }) => (painted ? `${paint(mark, color)} ${host}${paint(word, color)}` : `${mark} ${host}${word}`)).join('  ');
}

const QUIET_STATES: Array<ConnectionState['state']> = ['connected', 'connecting', 'idle', 'closed'];

/**
 * More hosts than the bar holds (a rollout's hundreds): those in trouble by name, first, then
 * the others counted by state ("● 20 connected  ○ 180 idle").
 */
function hostsSummary(hosts: Record<string, ConnectionState>, shown: HostShown[], painted: boolean): string {
  const trouble = shown.filter(({ host }) => !QUIET_STATES.includes(hosts[host]!.state));
  const counts = QUIET_STATES.map((state) => {
    const count = Object.values(hosts).filter((host) => host.state === state).length;
    const { mark, color } = HOST_MARK[state];
    return count === 0 ? '' : painted ? `${paint(mark, color)} ${count} ${state}` : `${mark} ${count} ${state}`;
  }).filter((part) => part !== '');
  return [hostsLine(trouble, painted), ...counts].filter((part) => part !== '').join('  ');
}

/** Room the hosts keep at least, beside the session id and the clocks. */
const HOSTS_ROOM = 8;

/**
 * The session id and the two clocks in as much as the width allows, never wrapped: the clocks
 * lose the weekday, then `? keys` (the prompt lists it too), then the places' names past their
 * first word, then the session id goes whole (it is never cut), and last the names.
 */
function fitted(
  sites: Runbook['sites'],
  now: number,
  id: string,
  width: number,
  widthOf: (parts: string[]) => number,
): { sessionId: string; clocks: string[] } {
  const { upgrader, site } = sites;
  const clock = (where: { name: string; tz: string }, name: string, day: boolean) =>
    [name, day ? weekdayIn(where.tz, now) : '', clockIn(where.tz, now)].filter((part) => part !== '').join(' ');
  const first = (name: string) => name.split(/\s+/)[0] ?? name;
  const ways: Array<{ sessionId: string; clocks: string[] }> = [
    { sessionId: id, clocks: [clock(upgrader, upgrader.name, true), clock(site, site.name, true), '? keys'] },
    { sessionId: id, clocks: [clock(upgrader, upgrader.name, false), clock(site, site.name, false), '? keys'] },
    { sessionId: id, clocks: [clock(upgrader, upgrader.name, false), clock(site, site.name, false)] },
    { sessionId: id, clocks: [clock(upgrader, first(upgrader.name), false), clock(site, first(site.name), false)] },
    { sessionId: '', clocks: [clock(upgrader, first(upgrader.name), false), clock(site, first(site.name), false)] },
  ];
  const fits = ways.find((way) => widthOf([way.sessionId, ...way.clocks]) + GAP + HOSTS_ROOM <= width);
  return fits ?? { sessionId: '', clocks: [clockIn(upgrader.tz, now), clockIn(site.tz, now)] };
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
  const widthOf = (parts: string[]) => parts.filter((part) => part !== '').reduce((sum, part) => sum + [...part].length + GAP, -GAP);
  const { sessionId, clocks } = fitted(props.runbook.sites, props.now, props.sessionId, props.width, widthOf);
  const shown = Object.entries(props.hosts).map(([host, state]) => ({ host, ...HOST_MARK[state.state], word: hostWord(state, props.now) }));
  const room = props.width - widthOf([sessionId, ...clocks]) - GAP;
  const every = hostsLine(shown, false);
  const fits = [...every].length <= room;
  const hostsText = fits ? every : hostsSummary(props.hosts, shown, false);
  // The join code is shown whole or not at all, and gives way to the hosts' states when room
  // is short (the chat panel shows it too); a lockout is always shown.
  const locked = props.helpers?.includes('LOCKED') === true;
  const helpers = props.helpers && (locked || widthOf([sessionId, hostsText, props.helpers, ...clocks]) <= props.width) ? props.helpers : null;
  return (
    // One row, kept on a screen short of rows: the panels above give way.
    <Box width={props.width} flexShrink={0} justifyContent="space-between" gap={GAP}>
      <Box gap={GAP} flexShrink={1} overflow="hidden">
        {sessionId !== '' ? (
          <Box flexShrink={0}>
            <Text color={theme.muted}>{sessionId}</Text>
          </Box>
        ) : null}
        <Text wrap="truncate-end">{fits ? hostsLine(shown, true) : hostsSummary(props.hosts, shown, true)}</Text>
        {helpers ? (
          <Box flexShrink={0}>
            <Text color={locked ? theme.danger : theme.warning}>{helpers}</Text>
          </Box>
        ) : null}
      </Box>
      <Box gap={GAP} flexShrink={0}>
        <Text>{clocks[0]}</Text>
        <Text bold>{clocks[1]}</Text>
        {clocks[2] !== undefined ? <Text color={theme.muted}>{clocks[2]}</Text> : null}
      </Box>
    </Box>
  );
}

/** Drawn again only when its own props change: a key press must not redraw the whole screen. */
export const StatusBar = memo(StatusBarView);
