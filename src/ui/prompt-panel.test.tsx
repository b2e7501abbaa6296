import { Box, renderToString, Text } from 'ink';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/load.js';
import { PromptPanel } from './prompt-panel.js';
import { StatusBar } from './status-bar.js';

const runbook = parseRunbook(
  'name: Short\nhosts:\n  target: {}\nphases:\n  - name: look\n    steps:\n      - run: uptime\n        host: target\n',
  'short.yaml',
);

describe('the prompt panel on a screen that is short of rows', () => {
  it('keeps its rows and the panels above give way: its lines are never drawn over each other', () => {
    // As in the view the frame a message appears under the prompt: the panels above still have
    // the height measured before (the room is measured a frame late), more than is left.
    const screen = stripVTControlCharacters(
      renderToString(
        <Box flexDirection="column" width={60} height={10} overflow="hidden">
          <Box flexShrink={0}>
            <Text>title</Text>
          </Box>
          <Box flexGrow={1} flexShrink={1} overflow="hidden">
            <Box height={6} borderStyle="round">
              <Text>the panels</Text>
            </Box>
          </Box>
          <PromptPanel prompt={{ kind: 'confirm-stop', typing: false }} hints={[]} text="" message="back from the shell on target: it exited 0" width={60} />
          <StatusBar sessionId="20261206-120000-ab12" runbook={runbook} hosts={{ target: { state: 'connected', since: 0 } }} now={0} width={60} />
        </Box>,
        { columns: 60 },
      ),
    ).split('\n');
    const prompt = screen.slice(screen.findIndex((line) => line.startsWith('╭─') && screen.indexOf(line) > 1));
    expect(prompt.map((line) => line.replace(/^│ | *│$/g, '').trimEnd())).toEqual([
      expect.stringMatching(/^╭─+╮$/),
      'Press Ctrl-C again to stop nightshift now.',
      'A running step is aborted; the journal records where',
      'things stood. Any other key goes back.',
      'back from the shell on target: it exited 0',
      expect.stringMatching(/^╰─+╯$/),
      expect.stringMatching(/^20261206-120000-ab12 +● target/),
    ]);
  });
});
