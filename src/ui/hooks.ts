// React's view of things that live outside React, drawn in the run's frames (frame-clock.ts).
// Output is polled in every frame rather than pushed, so a flood of lines costs at most one
// render per frame.
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import type { RunbookSnapshot } from '../engine/machine.js';
import type { TailLine } from '../output/line-ring.js';
import type { RevertShown, StepProgress } from '../output/step-output.js';
import type { ConnectionState } from '../remote/types.js';
import type { Run } from '../runner/run.js';
import { FrameClock } from './frame-clock.js';
import type { Question, Questions } from './questions.js';

/** At most this often, what changes outside React is drawn (frame-clock.ts): the output, the machine, the hosts' links. */
export const FRAME_MS = 100;
/** How often an idle screen looks for output: nothing can print while no step's output is open. */
export const QUIET_FRAME_MS = 1000;

const clocks = new WeakMap<Run, FrameClock>();

/** The run's frames: one for the upgrader's view and the helpers' views alike. */
function frameClockOf(run: Run): FrameClock {
  let clock = clocks.get(run);
  if (!clock) {
    clock = new FrameClock(FRAME_MS, Date.now, QUIET_FRAME_MS);
    clocks.set(run, clock);
  }
  return clock;
}

/** A value kept outside React, drawn in the run's frames as it changes. */
function useDrawnInFrames<T>(run: Run, subscribe: (onChange: () => void) => () => void, read: () => T): T {
  const [value, setValue] = useState(read);
  useEffect(() => {
    const clock = frameClockOf(run);
    const show = () => setValue(read());
    // A change between the first render and this subscription is not missed.
    show();
    return subscribe(() => clock.request(show));
  }, [run, subscribe, read]);
  return value;
}

/** The machine's snapshot. */
export function useRunSnapshot(run: Run): RunbookSnapshot {
  const subscribe = useCallback(
    (onChange: () => void) => {
      const subscription = run.actor.subscribe(onChange);
      return () => subscription.unsubscribe();
    },
    [run],
  );
  const read = useCallback(() => run.actor.getSnapshot(), [run]);
  return useDrawnInFrames(run, subscribe, read);
}

/** The hosts' connection states: a rollout's hundreds of logins and logouts are drawn in frames as the machine's changes are. */
export function useHostStates(run: Run): Record<string, ConnectionState> {
  const subscribe = useCallback((onChange: () => void) => run.hosts.subscribe(onChange), [run]);
  const read = useCallback(() => run.hosts.states(), [run]);
  return useDrawnInFrames(run, subscribe, read);
}

export function useQuestion(questions: Questions): Question | undefined {
  return useSyncExternalStore(
    (onChange) => questions.subscribe(onChange),
    () => questions.current(),
  );
}

/**
 * The time, ticking on the wall clock's multiples of `intervalMs`: a minute clock flips as the
 * minute starts, and a screen that shows nothing finer than minutes is drawn once a minute.
 */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const tick = () => {
      const at = Date.now();
      setNow(at);
      timer = setTimeout(tick, intervalMs - (at % intervalMs));
    };
    timer = setTimeout(tick, intervalMs - (Date.now() % intervalMs));
    return () => clearTimeout(timer);
  }, [intervalMs]);
  return now;
}

export interface OutputTail {
  stepId: string | null;
  lines: TailLine[];
  progress: StepProgress | null;
  /** A revert armed around the step: the panel counts down to it. */
  revert: RevertShown | null;
  total: number;
  bytes: number;
  path: string | null;
}

const EMPTY: OutputTail = { stepId: null, lines: [], progress: null, revert: null, total: 0, bytes: 0, path: null };

/**
 * The last `height` lines of a step's output (scrolled back by `scroll`), looked at in every
 * frame; `lookingBack`: every attempt of it, from its logs once it is no longer running.
 */
export function useOutputTail(run: Run, stepId: string | null, height: number, scroll: number, lookingBack = false): OutputTail {
  const [tail, setTail] = useState<OutputTail>(EMPTY);
  useEffect(() => {
    let shownKey = '';
    const refresh = () => {
      const output = stepId ? (lookingBack ? run.outputs.history(stepId) : run.outputs.of(stepId)) : undefined;
      if (!output) {
        if (shownKey !== 'none') setTail(EMPTY);
        shownKey = 'none';
        return;
      }
      // The line being written (a progress bar) shows below the ended ones while not scrolled back.
      const partial = scroll === 0 ? (output.partialLine ?? null) : null;
      const key = `${run.outputs.version}:${output.ring.total}:${height}:${scroll}:${output.progress?.text ?? ''}:${output.revert?.state ?? ''}:${partial?.text ?? ''}`;
      if (key === shownKey) return;
      shownKey = key;
      const ended = output.ring.tail(partial ? height - 1 : height, Math.min(scroll, Math.max(0, output.ring.retained - height)));
      setTail({
        stepId,
        lines: partial ? [...ended, partial] : ended,
        progress: output.progress,
        revert: output.revert ? { ...output.revert } : null,
        total: output.ring.total,
        bytes: output.bytes,
        path: output.path,
      });
    };
    return frameClockOf(run).poll(refresh, () => run.outputs.allClosed);
  }, [run, stepId, height, scroll, lookingBack]);
  return tail;
}
