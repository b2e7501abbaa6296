import { Box, Text } from 'ink';
import { theme } from './theme.js';

const KEYS: Array<[string, string]> = [
  ['?', 'show or hide this list (in a text field: before typing)'],
  ['Esc', 'hide this list'],
  ['r', 'retry the failed step (a reboot: keep waiting; an attempt that may still run: once it has ended)'],
  ['a', 'an attempt that may still run on its host: attach to it again (same attempt, output goes on)'],
  ['a', 'a reboot that did not come back: ask the sentinel to look at it (their /ok keeps waiting)'],
  ['k', 'an attempt that may still run on its host: stop it (TERM to its process group; asks first)'],
  ['s', 'skip the failed step (asks for a reason, journaled)'],
  ['f', 'fall back from a failed step (asks for a reason)'],
  ['F', 'fall back now, from anywhere (asks for a reason)'],
  ['p', 'pause: save and leave (a running detached step goes on); nightshift resume goes on'],
  ['d', 'after a resume: the interrupted step did finish (asks for a reason; a reboot is verified first)'],
  ['y', 'confirm a checkpoint that asks for no text'],
  ['o', 'a step held for hands on site: go on without them (asks for a reason, journaled)'],
  ['Enter', 'submit typed text (destructive steps, checkpoints, reasons)'],
  ['Esc', 'clear typed text, or go back from a reason'],
  ['Ctrl-P', 'pause while typing'],
  ['c', 'stop the running step (then decide)'],
  ['t  Tab', 'write to the site (chat; /away, /back, /code for a new join code; Esc goes back)'],
  ['PgUp PgDn ↑ ↓', 'scroll the output back and forth'],
  ['End', 'follow the output again'],
  ['q', 'leave when the run has ended'],
  ['Ctrl-C twice', 'stop nightshift now'],
];

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
