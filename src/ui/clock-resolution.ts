// How often the screen's clock must tick: every second while something on it counts seconds,
// else once a minute (the site clocks show minutes). An upgrader's screen waiting at a
// checkpoint is then drawn once a minute instead of every second.
import type { StepRecord } from '../engine/events.js';
import type { HostView } from '../engine/fleet-view.js';
import type { ConnectionState } from '../remote/types.js';

export const SECOND_MS = 1000;
export const MINUTE_MS = 60_000;

export interface ClockedScreen {
  steps: Record<string, StepRecord>;
  hosts: Record<string, ConnectionState>;
  /** The hosts of the fleet on screen, when there is one. */
  fleetHosts?: readonly HostView[];
  /** Helpers locked out until then (its end is shown as it comes). */
  lockedUntil: number | null;
  now: number;
}

/** SECOND_MS or MINUTE_MS. */
export function clockTickMs(screen: ClockedScreen): number {
  const { now } = screen;
  // The runbook panel counts a running step in seconds, and a wait for people until its first minute.
  const stepCounts = Object.values(screen.steps).some(
    (record) => record.startedAt !== undefined && (record.status === 'running' || (record.status === 'waiting' && now - record.startedAt < MINUTE_MS)),
  );
  const hostCountsDown = Object.values(screen.hosts).some((state) => state.state === 'reconnecting');
  const fleetCounts = screen.fleetHosts?.some((host) => host.startedAt !== undefined && host.endedAt === undefined) ?? false;
  const lockoutEnds = screen.lockedUntil !== null && screen.lockedUntil > now;
  return stepCounts || hostCountsDown || fleetCounts || lockoutEnds ? SECOND_MS : MINUTE_MS;
}
