// The run's events that matter to both sides, said in the chat between the messages: who
// confirmed what and when (in both sites' clocks), failures, decisions to pause, fallbacks
// and the end. The upgrader and the helpers read the same lines; the journal has the events.
import type { ChatHub } from '../chat/hub.js';
import type { EngineEmitted } from '../engine/events.js';
import type { Runbook, Step } from '../runbook/types.js';
import type { GuardEvent } from '../runner/guard.js';
import { outcomeSentence } from '../text/outcome.js';
import { clockIn } from '../text/clock.js';

/** "03:14 Boston / 16:14 Taipei" (one clock when both sites share a zone). */
function clocks(sites: Runbook['sites'], at: number): string {
  const { upgrader, site } = sites;
  const here = `${clockIn(upgrader.tz, new Date(at))} ${upgrader.name}`;
  return upgrader.tz === site.tz ? here : `${here} / ${clockIn(site.tz, new Date(at))} ${site.name}`;
}

/** Up to five names, then how many more. */
function listed(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}

/** The chat's line for an event, or null for one that is not the site's business. */
export function runNote(event: EngineEmitted, stepOf: (id: string) => Step, sites: Runbook['sites']): string | null {
  const label = (id: string | null) => {
    if (id === null) return 'the run';
    const step = stepOf(id);
    return `${step.number} ${step.title}`;
  };
  switch (event.type) {
    case 'step.confirmed':
      return `${event.by.name} (${event.by.role}) confirmed ${label(event.stepId)}${event.relayed ? ` for the ${event.role}` : ''} at ${clocks(sites, event.at)}`;
    case 'step.finished':
      // A rollout's hosts are told once per batch (a line per failed host of 200 would bury the chat).
      if (event.status !== 'failed' || stepOf(event.stepId).instanceOf) return null;
      return `${label(event.stepId)} failed: ${event.error ?? `exit status ${event.exitCode ?? '?'}`}`;
    case 'batch.finished':
      return event.failed.length === 0
        ? null
        : `batch ${event.batch} of ${event.phase}: ${event.failed.length} of ${event.failed.length + event.done.length} hosts failed (${listed(event.failed)})`;
    case 'rollout.halted':
      return `the rollout of ${event.phase} stopped after batch ${event.batch}: ${event.reason}`;
    case 'decision':
      return event.action === 'pause' ? `${event.by.name} (${event.by.role}) paused the run at ${clocks(sites, event.at)}` : null;
    case 'fallback.started':
      return `fallback started by ${event.by.name} (${event.by.role}): ${event.reason}`;
    case 'run.finished':
      return `${outcomeSentence(event.outcome, { meaning: true })} at ${clocks(sites, event.at)}`;
    default:
      return null;
  }
}

/** The chat's line for what became of a guard on a host: the site must know when the machines undo the block by themselves. */
export function guardNote(event: GuardEvent, sites: Runbook['sites']): string | null {
  switch (event.type) {
    case 'guard.armed':
      return `guard ${event.guard} armed on ${event.host}: it undoes the block by itself at ${clocks(sites, event.deadline)} unless it is committed`;
    case 'guard.extended':
      return `guard ${event.guard}: ${event.host} now waits until ${clocks(sites, event.deadline)}`;
    case 'guard.committed':
      return `guard ${event.guard} committed on ${event.host}: the changes stay`;
    case 'guard.fired': {
      const by = event.by === 'deadline' ? ' by itself at its deadline' : '';
      return event.exitCode === 0
        ? `guard ${event.guard}: ${event.host} undid the block${by}`
        : `guard ${event.guard}: ${event.host}'s revert ran${by} and ${event.exitCode === null ? 'ended without a status' : `exited ${event.exitCode}`}: look at the machine`;
    }
    default:
      return null;
  }
}

/**
 * Says the run's events in the chat as they come; returns the unsubscribe. `notFor`: the
 * upgrader, when their plain lines say the events already (the helpers still read them).
 */
export function noteRunEvents(
  run: {
    onEvent(listener: (event: EngineEmitted) => void): () => void;
    stepOf(id: string): Step;
    runbook: Runbook;
    guards?: { onGuardEvent(listener: (event: GuardEvent) => void): () => void };
  },
  hub: ChatHub,
  notFor?: string,
): () => void {
  const say = (note: string | null) => {
    if (note !== null) hub.note(note, notFor !== undefined ? { notFor } : {});
  };
  const stopEvents = run.onEvent((event) => say(runNote(event, run.stepOf, run.runbook.sites)));
  const stopGuards = run.guards?.onGuardEvent((event) => say(guardNote(event, run.runbook.sites)));
  return () => {
    stopEvents();
    stopGuards?.();
  };
}
