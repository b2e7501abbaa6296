// The chat as both sides see it: each message stamped with the reader's clock, and with
// the writer's too when they live in another zone, and its writer's role after their name
// (a name is chosen, the role is not); nightshift's own notes dimmed, those for the reader
// alone (a refusal) in the warning colour.
import { Box, Text } from 'ink';
import { useSyncExternalStore } from 'react';
import type { ChatHub, ChatMessage, Participant } from '../chat/hub.js';
import { messageStamp } from '../text/chat-stamp.js';
import { clockIn } from '../text/clock.js';
import { theme } from './theme.js';

/** Re-renders on every change in the hub (messages, presence, typing). */
export function useHubVersion(hub: ChatHub): number {
  return useSyncExternalStore(
    (onChange) => hub.subscribe(onChange),
    () => hub.version,
  );
}

function rowsOf(text: string, width: number): number {
  return Math.max(1, Math.ceil(text.length / Math.max(10, width)));
}

/**
 * The newest messages that fit in `height` rows of `width` columns; `skip`: that many of the
 * newest left out (scrolled back), a row then saying how many are below.
 */
export function ChatLines(props: {
  messages: readonly ChatMessage[];
  readerTz: string;
  width: number;
  height: number;
  empty?: string;
  skip?: number;
  /** Hears how far back the panel can be scrolled, as drawn now. */
  onMaxSkip?: (skip: number) => void;
}) {
  const { messages, readerTz, width } = props;
  const rowsOfMessage = (message: ChatMessage, stamp = messageStamp(message, readerTz)) =>
    rowsOf(`${stamp} ${message.from ? `${message.from.name} (${message.from.role})` : ''}: ${message.text}`, width);
  // Scrolled back as far as it goes, the oldest messages fill the panel: no blank rows under them.
  const scrolledHeight = Math.max(1, props.height - 1);
  let oldestThatFit = 0;
  for (let used = 0; oldestThatFit < messages.length; oldestThatFit++) {
    used += rowsOfMessage(messages[oldestThatFit]!);
    if (used > scrolledHeight) break;
  }
  const maxSkip = Math.max(0, messages.length - Math.max(1, oldestThatFit));
  props.onMaxSkip?.(maxSkip);
  const skip = Math.min(props.skip ?? 0, maxSkip);
  const height = skip > 0 ? scrolledHeight : props.height;
  const shown: Array<{ message: ChatMessage; stamp: string }> = [];
  let used = 0;
  for (let index = messages.length - 1 - skip; index >= 0 && used < height; index--) {
    const message = messages[index]!;
    const stamp = messageStamp(message, readerTz);
    const rows = rowsOfMessage(message, stamp);
    if (used + rows > height && shown.length > 0) break;
    used += rows;
    shown.unshift({ message, stamp });
  }
  if (shown.length === 0) return <Text color={theme.muted}>{props.empty ?? 'No messages yet.'}</Text>;
  return (
    <Box flexDirection="column" width={width}>
      {shown.map(({ message, stamp }) =>
        message.from === null ? (
          <Text key={message.seq} color={message.to === undefined ? theme.muted : theme.warning} wrap="wrap">
            {stamp} · {message.text}
          </Text>
        ) : (
          <Text key={message.seq} wrap="wrap">
            <Text color={theme.muted}>{stamp} </Text>
            <Text bold color={message.from.role === 'upgrader' ? theme.accent : theme.warning}>
              {message.from.name}
            </Text>
            <Text color={theme.muted}> ({message.from.role})</Text>: {message.text}
          </Text>
        ),
      )}
      {skip > 0 ? <Text color={theme.warning}>{`↓ ${skip} newer ${skip === 1 ? 'message' : 'messages'} (PgDn, End)`}</Text> : null}
    </Box>
  );
}

/** "kim (upgrader) · mia (sentinel, away: lunch)" and who is typing. */
export function presenceText(people: Participant[], now: number, readerTz: string): string {
  return people
    .map((p) => {
      if (!p.away) return `${p.name} (${p.role})`;
      const until = p.away.until === null ? '' : `, back ${clockIn(readerTz, p.away.until)}${now > p.away.until ? ' (late)' : ''}`;
      return `${p.name} (${p.role}, away${p.away.reason ? `: ${p.away.reason}` : ''}${until})`;
    })
    .join(' · ');
}

export function typingText(typists: Participant[]): string {
  if (typists.length === 0) return '';
  return `${typists.map((p) => p.name).join(' and ')} ${typists.length === 1 ? 'is' : 'are'} typing…`;
}
