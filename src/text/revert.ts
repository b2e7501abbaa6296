import type { RevertShown } from '../output/step-output.js';
import { formatDuration } from '../runbook/duration.js';

/** One line on a revert armed around a step, as of `now`: the countdown while armed. */
export function revertText(revert: RevertShown, now: number): string {
  const left = revert.deadline - now;
  const countdown = formatDuration(Math.max(0, Math.ceil(left / 1000)) * 1000);
  switch (revert.state) {
    case 'armed':
      return left > 0
        ? `⏲ revert in ${countdown} unless confirmed from a new connection to ${revert.host}`
        : `⏲ the revert on ${revert.host} was due ${formatDuration(Math.floor(-left / 1000) * 1000)} ago: not confirmed`;
    case 'confirming':
      return `⏲ confirming from a new connection to ${revert.host}; revert in ${countdown}`;
    case 'disarmed':
      return `✓ revert disarmed: ${revert.host} answered a new connection`;
    case 'reverting':
      return `✗ not confirmed in time: the timer on ${revert.host} reverts the change`;
    case 'reverted':
      return `✗ reverted by the timer on ${revert.host}`;
  }
}
