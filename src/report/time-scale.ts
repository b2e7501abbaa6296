// The timeline's time axis. A session that paused overnight has long stretches where
// nothing happened; those are cut out (drawn as a break) so the work itself stays legible.

export interface Span {
  from: number;
  to: number;
}

export interface AxisBreak {
  x: number;
  from: number;
  to: number;
}

export interface TimeScale {
  x(at: number): number;
  breaks: AxisBreak[];
  ticks: number[];
  /** The distance between ticks, to choose how precise their labels are. */
  tickMs: number;
}

const BREAK_WIDTH = 18;
// Tenths of a second too: a session that ran in under two seconds (a rehearsal, a demo) still
// gets an axis of several ticks, not one.
const NICE_STEPS = [
  100,
  200,
  500,
  ...[1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((seconds) => seconds * 1000),
];

/** Gaps longer than this are cut: at least 5 minutes, and a tenth of the whole. */
function gapToCut(total: number): number {
  return Math.max(5 * 60_000, total / 10);
}

function segmentsOf(spans: Span[]): Span[] {
  const sorted = spans.map((span) => ({ from: span.from, to: Math.max(span.from, span.to) })).sort((a, b) => a.from - b.from);
  const first = sorted[0];
  if (!first) return [];
  const last = Math.max(...sorted.map((span) => span.to));
  const cut = gapToCut(last - first.from);
  const segments: Span[] = [{ ...first }];
  for (const span of sorted.slice(1)) {
    const current = segments.at(-1)!;
    if (span.from - current.to > cut) segments.push({ ...span });
    else current.to = Math.max(current.to, span.to);
  }
  return segments;
}

/** A scale mapping the times covered by `spans` onto [left, right]. */
export function timeScaleOf(spans: Span[], left: number, right: number, tickSpacing = 90): TimeScale {
  const segments = segmentsOf(spans);
  if (segments.length === 0) return { x: () => left, breaks: [], ticks: [], tickMs: 1000 };
  const active = segments.reduce((sum, segment) => sum + (segment.to - segment.from), 0);
  const usable = right - left - BREAK_WIDTH * (segments.length - 1);
  const perMs = active > 0 ? usable / active : 0;
  const starts: number[] = [];
  let position = left;
  for (const segment of segments) {
    starts.push(position);
    position += (segment.to - segment.from) * perMs + BREAK_WIDTH;
  }
  const x = (at: number): number => {
    if (active === 0) return (left + right) / 2;
    let index = segments.findIndex((segment) => at <= segment.to);
    if (index === -1) index = segments.length - 1;
    const segment = segments[index]!;
    const start = starts[index]!;
    if (at < segment.from) return start - BREAK_WIDTH / 2;
    return start + (at - segment.from) * perMs;
  };
  const breaks = segments.slice(1).map((segment, index) => ({
    x: starts[index + 1]! - BREAK_WIDTH / 2,
    from: segments[index]!.to,
    to: segment.from,
  }));

  const ticksEvery = (tickMs: number): number[] => {
    const ticks: number[] = [];
    let lastX = -Infinity;
    for (const segment of segments) {
      for (let at = Math.ceil(segment.from / tickMs) * tickMs; at <= segment.to; at += tickMs) {
        if (x(at) - lastX < tickSpacing * 0.8) continue;
        ticks.push(at);
        lastX = x(at);
      }
    }
    return ticks;
  };
  const wanted = Math.max(1, Math.floor((right - left) / tickSpacing));
  let index = NICE_STEPS.findIndex((step) => active / step <= wanted);
  if (index === -1) index = NICE_STEPS.length - 1;
  let ticks = ticksEvery(NICE_STEPS[index]!);
  // One tick is no scale: a finer step, while there is one, when the times fall between two ticks.
  while (ticks.length < 2 && index > 0) ticks = ticksEvery(NICE_STEPS[--index]!);
  return { x, breaks, ticks, tickMs: NICE_STEPS[index]! };
}
