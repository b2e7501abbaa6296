import type { RevertShown } from '../output/step-output.js';
import { formatDuration } from '../runbook/duration.js';
import type { Site } from '../runbook/types.js';
import { bothSitesToTheSecond } from './clock.js';
import { GUARD_EXTENSION_MS, type GuardShown } from '../runner/guard.js';

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

/** One line on the guard armed now, as of `now`: its first deadline to come, and `+`. */
export function guardText(guard: GuardShown, now: number): string {
  const armed = guard.hosts.filter((entry) => entry.state === 'armed');
  const first = Math.min(...armed.map((entry) => entry.deadline));
  const left = first - now;
  const names = armed.map((entry) => entry.host).join(', ');
  if (left <= 0) {
    return `⏲ guard ${guard.id}: the deadline passed ${formatDuration(Math.floor(-left / 1000) * 1000)} ago: ${names} revert by themselves`;
  }
  const countdown = formatDuration(Math.ceil(left / 1000) * 1000);
  return `⏲ guard ${guard.id}: ${names} revert by themselves in ${countdown} unless it is committed · + adds ${formatDuration(GUARD_EXTENSION_MS)}`;
}

/**
 * Said when a run stops while a guard is armed (its hosts will not wait for the resume), or
 * when a resume finds one (`resumed`): when its hosts undo the block by themselves.
 */
export function guardLeftArmedText(guard: GuardShown, sites: { upgrader: Site; site: Site }, now: number, resumed = false): string {
  const armed = guard.hosts.filter((entry) => entry.state === 'armed');
  const first = Math.min(...armed.map((entry) => entry.deadline));
  const at = bothSitesToTheSecond(sites, first);
  const names = armed.map((entry) => entry.host).join(', ');
  if (first <= now) {
    return `the guard ${guard.id}'s deadline passed at ${at}: ${names} undo the block by themselves; ${resumed ? 'this run' : 'a resume'} falls back`;
  }
  const unless = resumed ? 'unless this run commits it before' : 'unless the run is resumed and commits it before';
  return `the guard ${guard.id} ${resumed ? 'is' : 'stays'} armed: ${names} undo the block by themselves at ${at} (in ${formatDuration(Math.ceil((first - now) / 1000) * 1000)}) ${unless}`;
}
