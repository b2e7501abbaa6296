// What a session's journal says of its rollouts (`for_each` phases): each host's outcome, the
// step it failed at, and each batch's times, read from batch.*, host.* and rollout.halted.
import type { JournalEntryOf } from '../store/journal.js';

export type RolloutHostOutcome = 'queued' | 'running' | 'done' | 'failed' | 'fell-back' | 'skipped';

export interface RolloutHost {
  host: string;
  /** Counts from 1, as journaled. */
  batch: number;
  outcome: RolloutHostOutcome;
  startedAt?: number;
  endedAt?: number;
  /** Why it failed, fell back or was skipped. */
  reason?: string;
  /** The step of its own that failed (its last failed attempt before it ended), and that attempt's error. */
  failedStep?: { stepId: string; error?: string };
}

export interface RolloutBatch {
  batch: number;
  canary: boolean;
  hosts: string[];
  startedAt: number;
  endedAt?: number;
  done: string[];
  failed: string[];
  /** The rollout stopped after this batch. */
  halted?: { reason: string; at: number };
}

export interface Rollout {
  phase: string;
  /** In the order they were first journaled. */
  hosts: RolloutHost[];
  batches: RolloutBatch[];
}

type Clean = (value: unknown) => string;

/** Reads a rollout's entries into `rollouts`, one small reader per entry type. */
export class RolloutReader {
  constructor(
    private readonly rollouts: Rollout[],
    private readonly clean: Clean,
  ) {}

  private rollout(phase: string): Rollout {
    const name = this.clean(phase);
    let rollout = this.rollouts.find((each) => each.phase === name);
    if (!rollout) {
      rollout = { phase: name, hosts: [], batches: [] };
      this.rollouts.push(rollout);
    }
    return rollout;
  }

  private host(rollout: Rollout, name: string, batch: number): RolloutHost {
    const host = this.clean(name);
    let found = rollout.hosts.find((each) => each.host === host);
    if (!found) {
      found = { host, batch, outcome: 'queued' };
      rollout.hosts.push(found);
    }
    return found;
  }

  batchStarted(entry: JournalEntryOf<'batch.started'>, at: number): void {
    const rollout = this.rollout(entry.phase);
    const hosts = entry.hosts.map(this.clean);
    // A resumed rollout journals its batch again: the first start counts.
    if (!rollout.batches.some((batch) => batch.batch === entry.batch)) {
      rollout.batches.push({ batch: entry.batch, canary: entry.canary, hosts, startedAt: at, done: [], failed: [] });
    }
    for (const host of entry.hosts) this.host(rollout, host, entry.batch);
  }

  batchFinished(entry: JournalEntryOf<'batch.finished'>, at: number): void {
    const batch = this.rollout(entry.phase).batches.find((each) => each.batch === entry.batch);
    if (!batch) return;
    Object.assign(batch, { endedAt: at, done: entry.done.map(this.clean), failed: entry.failed.map(this.clean) });
  }

  hostStarted(entry: JournalEntryOf<'host.started'>, at: number): void {
    const host = this.host(this.rollout(entry.phase), entry.host, entry.batch);
    if (host.startedAt === undefined) host.startedAt = at;
    host.outcome = 'running';
  }

  /** `failedStep`: the host's last failed step, as the record's attempts say. */
  hostFinished(entry: JournalEntryOf<'host.finished'>, at: number, failedStep: { stepId: string; error?: string } | undefined): void {
    const rollout = this.rollout(entry.phase);
    const host = this.host(rollout, entry.host, rollout.batches.at(-1)?.batch ?? 1);
    host.outcome = entry.outcome;
    host.endedAt = at;
    if (entry.reason !== undefined) host.reason = this.clean(entry.reason);
    if (entry.outcome !== 'done' && failedStep) host.failedStep = failedStep;
  }

  halted(entry: JournalEntryOf<'rollout.halted'>, at: number): void {
    const batch = this.rollout(entry.phase).batches.find((each) => each.batch === entry.batch);
    if (batch) batch.halted = { reason: this.clean(entry.reason), at };
  }
}

/** Whether a step id is one host's instance of a rollout step (`BASE@HOST`). */
export function isHostStep(stepId: string, host: string): boolean {
  return stepId.endsWith(`@${host}`);
}
