// Each host's last step in the runbook, for the pool to stop keeping a shell ready there once
// it starts (remote/warm-shell.ts): a shell kept for a command that never comes costs the
// host a login shell. Fallback steps do not count: a run that falls back opens their channels.
import type { Runbook, Step } from '../runbook/types.js';

/** The host a step runs on, for the steps that have one. */
export function hostOfStep(step: Step): string | undefined {
  return 'host' in step && typeof step.host === 'string' ? step.host : undefined;
}

/** Host name to the id of its last step, phases in order. */
export function lastStepOnEachHost(runbook: Pick<Runbook, 'phases'>): Map<string, string> {
  const last = new Map<string, string>();
  for (const phase of runbook.phases) {
    for (const step of phase.steps) {
      const host = hostOfStep(step);
      if (host !== undefined) last.set(host, step.id);
    }
  }
  return last;
}
