import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { Step } from '../runbook/types.js';
import { visibleLine } from '../output/neutralize.js';
import { stepPlace } from '../text/steps.js';
import terminalWidth from '../text/terminal-width.js';
import type { TailLine } from '../output/line-ring.js';
import type { RevertShown, StepProgress } from '../output/step-output.js';
import { revertText } from '../text/revert.js';
import { CommandWindow } from './command-window.js';
import { useNow, type OutputTail } from './hooks.js';
import { theme } from './theme.js';
import { counted } from '../text/counted.js';

/**
 * `host`: a host of a rollout the upgrader selected, whose step this is (or none yet, while
 * it is queued). `lookingBack`: a step the upgrader selected (j k), not the one the run is at.
 * `target`: what a destructive step waiting for approval acts on, its line marked.
 */
export function OutputPanel(props: {
  step: Step | null;
  tail: OutputTail;
  width: number;
  height: number;
  scroll: number;
  lookingBack?: boolean;
  host?: string;
  target?: string;
  /** Long lines wrapped whole rather than cut at the width. */
  wrap?: boolean;
  /** Text searched for (/): marked where it shows. */
  search?: string | null;
}) {
  const { step, tail } = props;
  const selected = props.host !== undefined ? `${visibleLine(props.host)} · ` : '';
  const title = step
    ? `${selected}${step.number} ${step.title} (${stepPlace(step)})`
    : props.host !== undefined
      ? `${selected}queued: no output yet`
      : 'output';
  // Looking back, the step's name goes first: the count gives way (the log has them all).
  const counts = tail.total > 0 && !(props.lookingBack && props.scroll === 0) ? counted(tail.total, 'line') : '';
  const scrolled = props.scroll > 0 ? `scrolled back ${props.scroll} (End follows) · ` : props.lookingBack ? 'looking back · End follows' : '';
  return (
    <Box flexDirection="column" width={props.width} height={props.height + 2} borderStyle="round" borderColor={theme.border}>
      <Box justifyContent="space-between" gap={2}>
        <Text color={theme.muted} wrap="truncate-end">
          {title}
        </Text>
        <Box flexShrink={0}>
          <Text color={props.scroll > 0 || props.lookingBack ? theme.warning : theme.muted}>
            {scrolled}
            {counts}
          </Text>
        </Box>
      </Box>
      {tail.progress ? <ProgressBar progress={tail.progress} width={props.width - 2} /> : null}
      {tail.revert ? <RevertLine revert={tail.revert} /> : null}
      {tail.lines.length === 0 ? (
        <NoOutputYet
          step={step}
          height={props.height - 1 - (tail.revert ? 1 : 0)}
          scroll={props.scroll}
          {...(props.target !== undefined ? { target: props.target } : {})}
        />
      ) : (
        fitted(tail.lines, props.height - (tail.progress ? 2 : 1) - (tail.revert ? 1 : 0), props.wrap ? props.width - 2 : null).map((line, index) => (
          <Text key={index} wrap={props.wrap ? 'wrap' : 'truncate-end'} {...(line.stderr ? { color: theme.stderr } : {})}>
            {line.text === '' ? ' ' : props.search ? <Marked text={line.text} search={props.search} /> : line.text}
          </Text>
        ))
      )}
    </Box>
  );
}

/** A line with each match of a search shown inverse (smart case, as the search found it). */
function Marked(props: { text: string; search: string }) {
  const { text, search } = props;
  // A search without capitals is all lower case: the line is compared lower-cased.
  const haystack = search !== search.toLowerCase() ? text : text.toLowerCase();
  const parts: ReactNode[] = [];
  let from = 0;
  for (let at = search === '' ? -1 : haystack.indexOf(search); at !== -1; at = haystack.indexOf(search, from)) {
    if (at > from) parts.push(text.slice(from, at));
    parts.push(
      <Text key={at} inverse>
        {text.slice(at, at + search.length)}
      </Text>,
    );
    from = at + search.length;
  }
  if (parts.length === 0) return <>{text}</>;
  parts.push(text.slice(from));
  return <>{parts}</>;
}

/**
 * The last lines that fit in `rows`: one row each when cut at the width, or as many rows as
 * each takes when wrapped at `width` columns (the last line alone, cut to the rows, when even
 * it is taller).
 */
function fitted(lines: readonly TailLine[], rows: number, width: number | null): TailLine[] {
  if (width === null) return lines.slice(-rows);
  const shown: TailLine[] = [];
  let used = 0;
  for (let index = lines.length - 1; index >= 0; index--) {
    const taken = Math.max(1, Math.ceil(terminalWidth(lines[index]!.text) / Math.max(1, width)));
    if (used + taken > rows && shown.length > 0) break;
    used += taken;
    shown.unshift(lines[index]!);
  }
  return shown;
}

/**
 * Before a command has printed anything (or while it waits for approval): what it will run,
 * all of it, scrolled with the output's keys when it is longer than the panel; the line that
 * acts on a destructive step's target marked.
 */
function NoOutputYet(props: { step: Step | null; height: number; scroll: number; target?: string }) {
  const { step } = props;
  if (!step || !('command' in step)) return null;
  const rows = props.height - 1;
  if (rows < 1) return null;
  const count = step.command.trimEnd().split('\n').length;
  return (
    <>
      <Text color={theme.muted} wrap="truncate-end">
        {count <= rows ? 'no output yet; the command:' : `no output yet; the command, ${count} lines (PgUp PgDn scroll it):`}
      </Text>
      <CommandWindow command={step.command} rows={rows} scroll={props.scroll} muted {...(props.target !== undefined ? { target: props.target } : {})} />
    </>
  );
}

/** While a revert is armed it counts down, redrawn once a second on its own; after, what became of it. */
function RevertLine(props: { revert: RevertShown }) {
  const { revert } = props;
  const live = revert.state === 'armed' || revert.state === 'confirming';
  return live ? (
    <RevertCountdown revert={revert} />
  ) : (
    <Text color={revert.state === 'disarmed' ? theme.muted : theme.danger}>{revertText(revert, Date.now())}</Text>
  );
}

function RevertCountdown(props: { revert: RevertShown }) {
  const now = useNow();
  return (
    <Text color={theme.warning} bold wrap="truncate-end">
      {revertText(props.revert, now)}
    </Text>
  );
}

function ProgressBar(props: { progress: StepProgress; width: number }) {
  const barWidth = Math.max(10, Math.min(40, Math.floor(props.width / 3)));
  const fraction = Math.min(1, Math.max(0, props.progress.fraction ?? 0));
  const filled = Math.round(fraction * barWidth);
  return (
    <Text wrap="truncate-end">
      <Text color={theme.accent}>{'█'.repeat(filled)}</Text>
      <Text color={theme.muted}>{'░'.repeat(barWidth - filled)}</Text> {props.progress.text}
    </Text>
  );
}
