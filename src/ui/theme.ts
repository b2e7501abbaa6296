// Colours and marks in one place. Marks differ in shape too, not only in colour.
import chalk, { type ForegroundColorName } from 'chalk';
import type { HostOutcome, StepStatus } from '../engine/events.js';
import type { ConnectionState } from '../remote/types.js';

export const theme = {
  accent: 'cyan',
  muted: 'gray',
  danger: 'red',
  warning: 'yellow',
  success: 'green',
  stderr: 'yellow',
  border: 'gray',
} as const;

export const STEP_MARK: Record<StepStatus, { mark: string; color: string }> = {
  pending: { mark: '·', color: theme.muted },
  waiting: { mark: '?', color: theme.warning },
  running: { mark: '▶', color: theme.accent },
  done: { mark: '✓', color: theme.success },
  failed: { mark: '✗', color: theme.danger },
  skipped: { mark: '↷', color: theme.warning },
};

export const HOST_MARK: Record<ConnectionState['state'], { mark: string; color: string }> = {
  idle: { mark: '○', color: theme.muted },
  connecting: { mark: '◌', color: theme.warning },
  connected: { mark: '●', color: theme.success },
  failed: { mark: '✗', color: theme.danger },
  reconnecting: { mark: '↻', color: theme.warning },
  lost: { mark: '✗', color: theme.danger },
  closed: { mark: '○', color: theme.muted },
};

/** A host of a rollout: its outcome, or `waiting` while a step of it needs the upgrader. */
export type HostMarkState = HostOutcome | 'waiting';

export const HOST_OUTCOME_MARK: Record<HostMarkState, { mark: string; color: string }> = {
  waiting: { mark: '!', color: theme.danger },
  failed: { mark: '✗', color: theme.danger },
  'fell-back': { mark: '↩', color: theme.warning },
  skipped: { mark: '↷', color: theme.warning },
  running: { mark: '▶', color: theme.accent },
  queued: { mark: '·', color: theme.muted },
  done: { mark: '✓', color: theme.success },
};

/**
 * Whether styles show at all: with the colours off (the monochrome theme, NO_COLOR) chalk
 * drops inverse and bold too, so a cursor or a selection drawn only with them disappears.
 */
export function stylesShow(): boolean {
  return chalk.level > 0;
}

/**
 * Text in a theme colour as one string: a line of hundreds of coloured marks drawn as one
 * <Text> instead of one each, which Ink would lay out and measure one by one at every frame.
 * chalk follows NO_COLOR and FORCE_COLOR as Ink's own colours do.
 */
export function paint(text: string, color: string, inverse = false): string {
  const painted = chalk[color as ForegroundColorName]?.(text) ?? text;
  return inverse ? chalk.inverse(painted) : painted;
}
