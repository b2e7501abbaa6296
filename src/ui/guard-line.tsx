import { Box, Text } from 'ink';
import { useSyncExternalStore } from 'react';
import type { GuardKeeper } from '../runner/guard.js';
import { guardText } from '../text/revert.js';
import { useNow } from './hooks.js';
import { theme } from './theme.js';

/** While a guard is armed: its countdown, redrawn once a second on its own; nothing otherwise. */
export function GuardLine(props: { guards: GuardKeeper }) {
  const { guards } = props;
  useSyncExternalStore(
    (onChange) => guards.subscribe(onChange),
    () => guards.changes(),
  );
  const guard = guards.active();
  return guard ? <GuardCountdown guards={guards} /> : null;
}

function GuardCountdown(props: { guards: GuardKeeper }) {
  const now = useNow();
  const guard = props.guards.active();
  if (!guard) return null;
  // One row, kept on a screen short of rows: the panels above give way.
  return (
    <Box flexShrink={0}>
      <Text color={theme.warning} bold wrap="truncate-end">
        {guardText(guard, now)}
      </Text>
    </Box>
  );
}
