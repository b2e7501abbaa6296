// Reads a machine snapshot into what front-ends need to show and ask: which step is in
// focus and what it is waiting for. Derived from the state's tag (see rules.ts), never stored twice.
import { rolesOf, type Role, type Step } from '../runbook/types.js';
import type { Outcome } from './events.js';
import { handsOf } from './context.js';
import { approvalText } from './confirm-text.js';
import type { RunbookSnapshot } from './machine.js';
import { positionOf, type Place } from './rules.js';

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
  /** While a fallback runs: the phase whose own fallback it is, or null for the runbook's. */
  scope: string | null;
  outcome: Outcome | null;
  focus: Focus | null;
}

const OUTCOMES: Record<string, Outcome> = { completed: 'completed', fellBack: 'fell-back', paused: 'paused' };

/** While a fallback runs, and after it ended the run: the phase whose own fallback it is, or null (the runbook's, or no fallback). */
export function fallbackScopeOf(context: RunbookSnapshot['context']): string | null {
  return context.track === 'fallback' ? (context.scope ?? null) : null;
}

export function viewOf(snapshot: RunbookSnapshot, stepOf: (id: string) => Step): EngineView {
  const { context } = snapshot;
  // A run ends in a final state of the machine, named for its outcome.
  const outcome = snapshot.status === 'done' && typeof snapshot.value === 'string' ? (OUTCOMES[snapshot.value] ?? null) : null;
  const position = positionOf(snapshot);
  const scope = fallbackScopeOf(context);
  if (!position) return { track: context.track, scope, outcome, focus: null };
  const { stepId, place } = position;
  const step = stepOf(stepId);
  const record = context.steps[stepId]!;
  return { track: context.track, scope, outcome, focus: focusAt(place) };

  function focusAt(place: Place): Focus {
    switch (place) {
      case 'held':
        return { stepId, waitingFor: 'hands', why: handsOf(context).why };
      case 'failed':
        return {
          stepId,
          waitingFor: 'decision',
          error: record.error ?? 'failed',
          interrupted: record.interrupted === true,
          ...(record.mayStillRun !== undefined ? { attemptMayRun: record.mayStillRun } : {}),
        };
      case 'checkingAttempt':
      case 'stoppingAttempt': {
        const host = 'host' in step ? step.host : 'its host';
        const attempt = record.mayStillRun ?? record.attempts;
        const doing =
          place === 'checkingAttempt' ? `asking ${host} whether attempt ${attempt} has ended, before a retry` : `stopping attempt ${attempt} on ${host}`;
        return { stepId, waitingFor: 'running', doing };
      }
      case 'asking':
        return { stepId, waitingFor: 'confirmation', roles: ['sentinel'], request: record.asked ?? '' };
      case 'approval':
        return { stepId, waitingFor: 'approval', text: approvalText(step, snapshot.context) ?? '' };
      case 'confirming': {
        const confirmed = new Set(record.confirmations.map((c) => c.role));
        const roles = step.kind === 'checkpoint' ? rolesOf(step.by) : [];
        return { stepId, waitingFor: 'confirmation', roles: roles.filter((role) => !confirmed.has(role)) };
      }
      case 'running':
      case 'interrupted':
      case 'checking':
      case 'deciding':
      case 'probing':
      case 'preparing':
        return { stepId, waitingFor: 'running' };
    }
  }
}
