import { Box, Text } from 'ink';
import type { Step } from '../runbook/types.js';
import { stepPlace } from '../text/steps.js';
import type { OutputTail } from './hooks.js';
import { theme } from './theme.js';

export function OutputPanel(props: { step: Step | null; tail: OutputTail; width: number; height: number; scroll: number }) {
  const { step, tail } = props;
  const title = step ? `${step.number} ${step.title} (${stepPlace(step)})` : 'output';
  const counts = tail.total > 0 ? `${tail.total.toLocaleString('en-US')} lines` : '';
  const scrolled = props.scroll > 0 ? `scrolled back ${props.scroll} (End follows) · ` : '';
  return (
    <Box flexDirection="column" width={props.width} height={props.height + 2} borderStyle="round" borderColor={theme.border}>
      <Box justifyContent="space-between" gap={2}>
        <Text color={theme.muted} wrap="truncate-end">
          {title}
        </Text>
        <Box flexShrink={0}>
          <Text color={props.scroll > 0 ? theme.warning : theme.muted}>
            {scrolled}
            {counts}
          </Text>
        </Box>
      </Box>
      {tail.lines.length === 0 ? (
        <NoOutputYet step={step} height={props.height - 1} />
      ) : (
        tail.lines.slice(-(props.height - 1)).map((line, index) => (
          <Text key={index} wrap="truncate-end" {...(line.stderr ? { color: theme.stderr } : {})}>
            {line.text === '' ? ' ' : line.text}
          </Text>
        ))
      )}
    </Box>
  );
}

/** Before a command has printed anything (or while it waits for approval): what it will run. */
function NoOutputYet(props: { step: Step | null; height: number }) {
  const { step } = props;
  if (!step || !('command' in step)) return null;
  const lines = step.command.trimEnd().split('\n');
  return (
    <>
      <Text color={theme.muted}>no output yet; the command:</Text>
      {lines.slice(0, Math.max(1, props.height - 1)).map((line, index) => (
        <Text key={index} color={theme.muted} wrap="truncate-end">
          {`${index === 0 ? '$' : ' '} ${line}`}
        </Text>
      ))}
    </>
  );
}
