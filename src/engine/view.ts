// Reads a machine snapshot into what front-ends need to show and ask: which step is in
// focus and what it is waiting for. Derived from the state value, never stored twice.
import { rolesOf, type Role, type Step } from '../runbook/types.js';
import type { Outcome } from './events.js';
import { handsOf, type RunbookSnapshot } from './machine.js';

export type Focus =
  /** `doing`: what nightshift does for the upgrader's decision meanwhile (looks at an attempt, stops it). */
  | { stepId: string; waitingFor: 'running'; doing?: string }
  | { stepId: string; waitingFor: 'approval'; text: string }
  /** `request`: what the sentinel was asked to do about a failed step (none for a checkpoint). */
  | { stepId: string; waitingFor: 'confirmation'; roles: Role[]; request?: string }
  /** A `needs: hands` step held while no sentinel is on site; `why` says what is missing. */
  | { stepId: string; waitingFor: 'hands'; why: string }
  /**
   * `interrupted`: the step was in flight when nightshift stopped, so it may also be marked
   * done. `attemptMayRun`: that attempt may still run on its host (reattach, stop; a retry
   * waits until it has ended).
   */
  | { stepId: string; waitingFor: 'decision'; error: string; interrupted: boolean; attemptMayRun?: number };

export interface EngineView {
  track: 'main' | 'fallback';
  outcome: Outcome | null;
  focus: Focus | null;
}

const OUTCOMES: Record<string, Outcome> = { completed: 'completed', fellBack: 'fell-back', paused: 'paused' };

export function viewOf(snapshot: RunbookSnapshot, stepOf: (id: string) => Step): EngineView {
  const value = snapshot.value as string | Record<string, string | Record<string, string>>;
  const { context } = snapshot;
  if (typeof value === 'string') return { track: context.track, outcome: OUTCOMES[value] ?? null, focus: null };
  const [trackValue] = Object.values(value);
  if (trackValue === undefined || typeof trackValue === 'string') return { track: context.track, outcome: null, focus: null };
  const [stepId, sub] = Object.entries(trackValue)[0] ?? [];
  if (stepId === undefined) return { track: context.track, outcome: null, focus: null };
  const step = stepOf(stepId);
  const record = context.steps[stepId]!;
  let focus: Focus;
  if (sub === 'held') focus = { stepId, waitingFor: 'hands', why: handsOf(context).why };
  else if (sub === 'failed') {
    focus = {
      stepId,
      waitingFor: 'decision',
      error: record.error ?? 'failed',
      interrupted: record.interrupted === true,
      ...(record.mayStillRun !== undefined ? { attemptMayRun: record.mayStillRun } : {}),
    };
  } else if (sub === 'checkingAttempt' || sub === 'stoppingAttempt') {
    const host = 'host' in step ? step.host : 'its host';
    const attempt = record.mayStillRun ?? record.attempts;
    const doing = sub === 'checkingAttempt' ? `asking ${host} whether attempt ${attempt} has ended, before a retry` : `stopping attempt ${attempt} on ${host}`;
    focus = { stepId, waitingFor: 'running', doing };
  }
  else if (sub === 'asking') focus = { stepId, waitingFor: 'confirmation', roles: ['sentinel'], request: record.asked ?? '' };
  else if (sub === 'approval') focus = { stepId, waitingFor: 'approval', text: 'confirmText' in step ? (step.confirmText ?? '') : '' };
  else if (step.kind === 'checkpoint') {
    const confirmed = new Set(record.confirmations.map((c) => c.role));
    focus = { stepId, waitingFor: 'confirmation', roles: rolesOf(step.by).filter((role) => !confirmed.has(role)) };
  } else focus = { stepId, waitingFor: 'running' };
  return { track: context.track, outcome: null, focus };
}
