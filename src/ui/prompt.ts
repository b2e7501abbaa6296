// What the upgrader is being asked right now, derived from the engine's focus, a pending
// SSH question and the screen's own mode. One place decides which keys mean what.
import type { Outcome } from '../engine/events.js';
import type { Focus } from '../engine/view.js';
import type { FleetView } from '../engine/fleet-view.js';
import { visibleLine, visibleText } from '../output/neutralize.js';
import type { Role, Step } from '../runbook/types.js';
import type { Question } from './questions.js';

export type ReasonAction = 'skip' | 'fallback' | 'mark-done' | 'override' | 'skip-host' | 'fallback-host' | 'stop-rollout';

/** A host of a rollout a reason is asked about (skip it, fall it back, stop the rollout at it). */
export interface HostTarget {
  phase: string;
  /** None: the rollout as a whole (stopping it while nothing failed). */
  host?: string;
}

export type Mode =
  | { kind: 'normal' }
  | { kind: 'help' }
  | { kind: 'reason'; action: ReasonAction; stepId: string | null; target?: HostTarget }
  | { kind: 'confirm-cancel'; stepId: string }
  /** Stopping an attempt that may still run on its host: asked before the TERM goes. */
  | { kind: 'confirm-stop-attempt'; stepId: string }
  | { kind: 'confirm-stop' }
  /** Writing to the site (t): Enter sends, Esc or Enter on an empty line goes back. */
  | { kind: 'chat' }
  /** Searching the output shown (/): Enter finds, Esc goes back. */
  | { kind: 'search' }
  /** Looking back at a step by its number (a digit starts it): Enter shows it, Esc goes back. */
  | { kind: 'goto' };

export type Prompt =
  | { kind: 'question'; question: Question; typing: boolean }
  | { kind: 'reason'; action: ReasonAction; stepId: string | null; target?: HostTarget; typing: true }
  | { kind: 'confirm-cancel'; step: Step; typing: false }
  | { kind: 'confirm-stop-attempt'; step: Step; attempt: number; typing: false }
  | { kind: 'confirm-stop'; typing: false }
  | { kind: 'chat'; typing: true }
  | { kind: 'search'; typing: true }
  | { kind: 'goto'; typing: true }
  | { kind: 'approval'; step: Step; text: string; typing: true }
  /** `relayable`: the upgrader may confirm for this role (their own, or a relayed one when allowed). */
  | {
      kind: 'confirmation';
      step: Step;
      role: Role;
      pending: Role[];
      confirmText?: string;
      relayable: boolean;
      /** What the sentinel was asked about a failed step (not a checkpoint). */
      request?: string;
      /** A rollout's halt or canary checkpoint: confirming it continues the rollout. */
      rollout?: RolloutPause;
      typing: boolean;
    }
  /**
   * A failed step of a host of a rollout: the first such host in the grid's order; `more`
   * other hosts wait for a decision too. `fallback`: the host has fallback steps to run.
   */
  | { kind: 'host-decision'; step: Step; phase: string; host: string; error: string; more: number; fallback: boolean; typing: false }
  /** `attemptMayRun`: that attempt may still run on its host (reattach or stop it; a retry waits until it has ended). */
  | { kind: 'decision'; step: Step; error: string; interrupted: boolean; attemptMayRun?: number; typing: false }
  /** A `needs: hands` step held while no sentinel is on site; `why` says what is missing. */
  | { kind: 'held'; step: Step; why: string; typing: false }
  /** `doing`: what nightshift does for the upgrader's decision (looks at an attempt on its host, stops it). `rollout`: the phase of a rollout under way, which may be stopped. */
  | { kind: 'running'; step: Step; doing?: string; rollout?: string; typing: false }
  /** `scope`: the phase whose own fallback ended the run (null: the runbook's, or no fallback). */
  | { kind: 'finished'; outcome: Outcome; scope: string | null; typing: false }
  | { kind: 'idle'; typing: false };

/** Where a rollout rests at a checkpoint of its own: after its canary batch, or halted after a batch. */
export interface RolloutPause {
  phase: string;
  kind: 'canary' | 'halt';
  /** The hosts that failed, fell back or were skipped so far. */
  failed: string[];
}

/** The first host of a rollout (in the grid's order) whose step failed and waits for a decision, and how many more wait. */
export function waitingHost(fleets: readonly FleetView[]): { view: FleetView; host: string; step: Step; error: string; more: number } | null {
  const waiting = fleets.flatMap((view) =>
    view.hosts.filter((host) => host.waiting && host.stepStatus === 'failed' && host.step).map((host) => ({ view, host })),
  );
  const first = waiting[0];
  if (!first) return null;
  return { view: first.view, host: first.host.host, step: first.host.step!, error: first.host.error ?? 'failed', more: waiting.length - 1 };
}

/**
 * The failed host a decision is asked about: the one whose step the engine has in focus,
 * else (nothing else waits for a person) the first in the grid's order. An interrupted step,
 * or one whose attempt may still run, gets the usual decision prompt with its own ways.
 */
function hostDecisionOf(focus: Focus | null, fleets: readonly FleetView[], stepOf: (id: string) => Step): ReturnType<typeof waitingHost> {
  if (focus?.waitingFor === 'decision') {
    const step = stepOf(focus.stepId);
    const host = step.instanceOf?.host;
    const view =
      host !== undefined
        ? fleets.find((each) => each.fleet.perHost[host]?.steps.concat(each.fleet.perHost[host]!.fallback).some((own) => own.id === step.id))
        : undefined;
    if (host === undefined || !view || focus.interrupted || focus.attemptMayRun !== undefined) return null;
    const others = fleets.flatMap((each) => each.hosts.filter((other) => other.waiting && other.stepStatus === 'failed' && other.host !== host));
    return { view, host, step, error: focus.error, more: others.length };
  }
  if (focus !== null && focus.waitingFor !== 'running') return null;
  return waitingHost(fleets);
}

/** Whether `stepId` is a rollout's canary or halt checkpoint, and the rollout's failed hosts. */
export function rolloutPauseOf(fleets: readonly FleetView[], stepId: string): RolloutPause | undefined {
  for (const view of fleets) {
    const { fleet } = view;
    const kind = fleet.canaryCheckpoint?.id === stepId ? 'canary' : fleet.halts.some((halt) => halt.id === stepId) ? 'halt' : null;
    if (kind === null) continue;
    const outcomes = new Map(view.hosts.map((host) => [host.host, host.outcome]));
    const failed = fleet.hosts.filter((host) => ['failed', 'fell-back', 'skipped'].includes(outcomes.get(host) ?? 'queued'));
    return { phase: view.phase, kind, failed };
  }
  return undefined;
}

export function activePrompt(args: {
  mode: Mode;
  question: Question | undefined;
  focus: Focus | null;
  outcome: Outcome | null;
  /** The phase whose own fallback runs or ran (null: the runbook's, or none). */
  scope?: string | null;
  stepOf: (id: string) => Step;
  /** Whether the upgrader may record a sentinel's confirmation for them. */
  relaysAllowed: boolean;
  /** The rollouts under way (fleetViewsOf): a failed host's step is asked about first. */
  fleets?: readonly FleetView[];
}): Prompt {
  const { mode, question, focus, outcome, stepOf } = args;
  if (mode.kind === 'confirm-stop') return { kind: 'confirm-stop', typing: false };
  if (question) return { kind: 'question', question, typing: question.kind === 'passphrase' || question.kind === 'sudo-password' };
  if (mode.kind === 'chat') return { kind: 'chat', typing: true };
  if (mode.kind === 'search') return { kind: 'search', typing: true };
  if (mode.kind === 'goto') return { kind: 'goto', typing: true };
  if (outcome) return { kind: 'finished', outcome, scope: args.scope ?? null, typing: false };
  if (mode.kind === 'reason') return { ...mode, kind: 'reason', typing: true };
  if (mode.kind === 'confirm-cancel' && focus?.stepId === mode.stepId && focus.waitingFor === 'running') {
    return { kind: 'confirm-cancel', step: stepOf(mode.stepId), typing: false };
  }
  if (mode.kind === 'confirm-stop-attempt' && focus?.stepId === mode.stepId && focus.waitingFor === 'decision' && focus.attemptMayRun !== undefined) {
    return { kind: 'confirm-stop-attempt', step: stepOf(mode.stepId), attempt: focus.attemptMayRun, typing: false };
  }
  const host = hostDecisionOf(focus, args.fleets ?? [], stepOf);
  if (host) {
    const fallback = (host.view.fleet.perHost[host.host]?.fallback.length ?? 0) > 0;
    return {
      kind: 'host-decision',
      step: stepOf(host.step.id),
      phase: host.view.phase,
      host: host.host,
      error: visibleText(host.error),
      more: host.more,
      fallback,
      typing: false,
    };
  }
  if (!focus) return { kind: 'idle', typing: false };
  const step = stepOf(focus.stepId);
  switch (focus.waitingFor) {
    case 'approval':
      return { kind: 'approval', step, text: visibleLine(focus.text), typing: true };
    case 'confirmation': {
      const confirmText = 'confirmText' in step ? step.confirmText : undefined;
      const role = focus.roles[0] ?? 'upgrader';
      const relayable = role === 'upgrader' || args.relaysAllowed;
      const rollout = focus.request === undefined ? rolloutPauseOf(args.fleets ?? [], focus.stepId) : undefined;
      return {
        kind: 'confirmation',
        step,
        role,
        relayable,
        pending: focus.roles,
        ...(confirmText !== undefined ? { confirmText } : {}),
        ...(focus.request !== undefined ? { request: visibleText(focus.request) } : {}),
        ...(rollout ? { rollout } : {}),
        typing: confirmText !== undefined && relayable,
      };
    }
    case 'decision':
      return {
        kind: 'decision',
        step,
        error: visibleText(focus.error),
        interrupted: focus.interrupted,
        ...(focus.attemptMayRun !== undefined ? { attemptMayRun: focus.attemptMayRun } : {}),
        typing: false,
      };
    case 'running': {
      const rollout = (args.fleets ?? []).find((view) => view.batch < view.batches.length && !view.stopping)?.phase;
      return {
        kind: 'running',
        step,
        ...(focus.doing !== undefined ? { doing: focus.doing } : {}),
        ...(rollout !== undefined ? { rollout } : {}),
        typing: false,
      };
    }
    case 'hands':
      return { kind: 'held', step, why: visibleLine(focus.why), typing: false };
  }
}
