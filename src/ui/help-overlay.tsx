import { Box, Text } from 'ink';
import { helpList } from './key-map.js';
import { theme } from './theme.js';

const KEYS = helpList();

export function HelpOverlay(props: { width: number }) {
  return (
    <Box flexDirection="column" width={props.width} borderStyle="round" borderColor={theme.accent} paddingX={1}>
      <Text bold color={theme.accent}>
        Keys
      </Text>
      {KEYS.map(([key, what]) => (
        <Text key={`${key} ${what}`}>
          <Text bold>{key.padEnd(16)}</Text>
          {what}
        </Text>
      ))}
    </Box>
  );
}
