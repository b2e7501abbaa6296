// How a guard (runbook `guard:`) and its steps are told in plans, summaries and notes.
import { formatDuration } from './duration.js';
import type { GuardPlan, GuardStep } from './types.js';

/** "dragon, dolphin". */
export function guardHosts(guard: GuardPlan): string {
  return guard.reverts.map((revert) => revert.host).join(', ');
}

/** What the step does, with each host's revert. */
export function guardStepText(step: GuardStep): string {
  const { guard } = step;
  const reverts = guard.reverts.map((revert) => `  ${revert.host}: ${revert.command}`).join('\n');
  const spares = guard.reverts
    .filter((revert) => revert.spare !== undefined)
    .map((revert) => {
      const also = revert.spare!.also ?? [];
      const others =
        also.length > 0
          ? `; once the block moved the addresses, a login to ${also.join(' or ')} that the main port does not answer goes there too, and it is stopped through the first of ${[revert.host, ...also].join(', ')} that answers`
          : '';
      return `\n  ${revert.host}: first a spare SSH server on port ${revert.spare!.port}, proved by a login through it${others}`;
    })
    .join('');
  const block = guard.phases.length === 1 ? `phase ${guard.phases[0]}` : `the phases ${guard.phases[0]} through ${guard.phases.at(-1)}`;
  switch (step.action) {
    case 'arm':
      return `arm, on each host, its revert to run by itself in ${formatDuration(guard.afterMs)} unless it is committed once ${block} succeeded:\n${reverts}${spares}`;
    case 'commit':
      return `disarm each host's revert from a new connection: the changes of ${block} stay`;
    case 'fire':
      return `run each host's revert now (a host that cannot be reached runs it by itself at its deadline):\n${reverts}`;
  }
}
