// The names of a rollout's states, in one place: the machine builds them, a resume and the
// view read them. Upper-case prefixes cannot clash with (lower-case) step ids.

/** The main track's state of a `for_each` phase. */
export function fleetStateKey(phase: string): string {
  return `Fleet_${phase}`;
}
export function fleetStateId(phase: string): string {
  return `fleet:${phase}`;
}
/** A host's region in a batch (host names are lower-case names, so they make valid state ids). */
export function hostRegionId(phase: string, host: string): string {
  return `fleet:${phase}:${host}`;
}
/** A host's region in the `segment`-th part of its batch (parts are cut by `per: batch` checkpoints). */
export function segmentRegionId(phase: string, host: string, segment: number): string {
  return segment === 0 ? hostRegionId(phase, host) : `${hostRegionId(phase, host)}~${segment}`;
}
export function hostFallbackTarget(regionId: string): string {
  return `#${regionId}.FallingBack`;
}
export function batchStateId(phase: string, batch: number): string {
  return `fleet:${phase}:batch${batch}`;
}
export function isHostFallbackTarget(target: string): boolean {
  return /^#fleet:[^.:]+:[^.]+\.FallingBack$/.test(target);
}
/** A host's fallback steps also run in the fall-back-all state: their states there get other ids. */
export function allFallbackStateId(stepId: string): string {
  return `all:${stepId}`;
}
export const batchKey = (index: number) => `Batch_${index}`;
