// The upgrader's side of the chat: who is on site, the last messages, who is typing, and
// how helpers join (the command, the code to read out, the key to compare).
import { Box, Text } from 'ink';
import { memo } from 'react';
import type { HelperAccess, HelperAccessState } from '../chat/helper-access.js';
import type { ChatHub, Participant } from '../chat/hub.js';
import { clockIn } from '../text/clock.js';
import { ChatLines, presenceText, typingText, useHubVersion } from './chat-lines.js';
import { theme } from './theme.js';

export interface ChatPanelProps {
  hub: ChatHub;
  me: Participant;
  access: HelperAccessState | null;
  /**
   * Whether a helper channel was asked for, and whether it is still opening (it opens after
   * the first frame): until then the panel does not say there is none.
   */
  channel?: Pick<HelperAccess, 'opening'> | null;
  /** Messages scrolled back (PgUp PgDn while writing); 0 shows the newest. */
  scroll?: number;
  /** Hears how far back the chat can be scrolled, as drawn now. */
  onMaxScroll?: (scroll: number) => void;
  width: number;
  height: number;
  now: number;
}

function noChannelText(channel: ChatPanelProps['channel']): string {
  if (!channel) return 'chat: no helper channel (--no-helpers)';
  return channel.opening?.() ? 'chat: the helper channel is opening…' : 'chat: no helper channel (it could not open: see below)';
}

function ChatPanelView({ hub, me, access, channel, scroll = 0, onMaxScroll, width, height, now }: ChatPanelProps) {
  useHubVersion(hub);
  const helpers = hub.helpers();
  const typists = typingText(hub.typists(me.id));
  const inner = Math.max(10, width - 4);
  const lonely = helpers.length === 0 && access !== null;
  // What is read out on the phone is shown whole: on a narrow panel the join line, the code
  // and the key each take their own rows, wrapped.
  const joinLine = lonely ? `nobody on site has joined · helpers join with ${access.joinCommand}` : '';
  const readOut = lonely ? `read out: code ${access.code} · key ${access.fingerprint}` : '';
  const narrow = lonely && (joinLine.length > inner || readOut.length > inner);
  const rowsOf = (text: string) => Math.max(1, Math.ceil(text.length / inner));
  const joinRows = !lonely ? 1 : narrow ? rowsOf(joinLine) + rowsOf(`read out: code ${access.code}`) + rowsOf(`key ${access.fingerprint}`) : 2;
  const messageRows = Math.max(1, height - 2 - joinRows - (typists ? 1 : 0));
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="round" borderColor={theme.border} paddingX={1} overflow="hidden">
      {lonely && narrow ? (
        <>
          <Text wrap="wrap">
            nobody on site has joined · helpers join with <Text bold>{access.joinCommand}</Text>
          </Text>
          <Text wrap="wrap" color={theme.muted}>
            read out: code <Text bold>{access.code}</Text>
          </Text>
          <Text wrap="wrap" color={theme.muted}>
            key {access.fingerprint}
          </Text>
        </>
      ) : lonely ? (
        <>
          <Text wrap="truncate-end">
            nobody on site has joined · helpers join with <Text bold>{access.joinCommand}</Text>
          </Text>
          <Text wrap="truncate-end" color={theme.muted}>
            read out: code <Text bold>{access.code}</Text> · key {access.fingerprint}
          </Text>
        </>
      ) : (
        <Text wrap="truncate-end" color={theme.muted}>
          {access === null && helpers.length === 0 ? noChannelText(channel) : `on site: ${presenceText(helpers, now, me.tz)}`}
        </Text>
      )}
      <ChatLines
        messages={hub.messages(me.id)}
        readerTz={me.tz}
        width={inner}
        height={messageRows}
        skip={scroll}
        {...(onMaxScroll ? { onMaxSkip: onMaxScroll } : {})}
        empty="No messages yet · t to write to the site"
      />
      {typists ? (
        <Text color={theme.muted} wrap="truncate-end">
          {typists}
        </Text>
      ) : null}
    </Box>
  );
}

/** The status bar's part: the join code to read out, or the lockout. */
export function helperStatus(access: HelperAccessState | null, now: number, tz: string): string | null {
  if (!access) return null;
  if (access.lockedUntil !== null && access.lockedUntil > now) {
    return `helpers LOCKED OUT until ${clockIn(tz, access.lockedUntil)} (too many wrong codes) · /code in the chat makes a new one`;
  }
  const site = access.site;
  const where =
    site === null
      ? `port ${access.local.port}`
      : site.tunnel.state === 'open'
        ? `${site.host}:${site.port}`
        : site.tunnel.state === 'refused'
          ? `${site.host} tunnel closed (not loopback only)`
          : `${site.host} tunnel ${site.tunnel.state}`;
  return `code ${access.code} · ${where}`;
}

/** Drawn again only when its own props change: a key press must not redraw the whole screen. */
export const ChatPanel = memo(ChatPanelView);
