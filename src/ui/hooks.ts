// React's view of things that live outside React. Output is polled at a fixed rate rather
// than pushed, so a flood of lines costs at most one render per tick.
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { RunbookSnapshot } from '../engine/machine.js';
import type { TailLine } from '../output/line-ring.js';
import type { RevertShown, StepProgress } from '../output/step-output.js';
import type { ConnectionState } from '../remote/types.js';
import type { Run } from '../runner/run.js';
import type { Question, Questions } from './questions.js';

export const OUTPUT_REFRESH_MS = 100;
/** The machine's changes reach the screen at most this often: a rollout's hosts change it hundreds of times a second. */
export const SNAPSHOT_REFRESH_MS = 40;

/**
 * The machine's snapshot. A change after a quiet moment (a key's answer) shows at once;
 * changes that come faster are drawn together, the latest one at most SNAPSHOT_REFRESH_MS later.
 */
export function useRunSnapshot(run: Run): RunbookSnapshot {
  const [snapshot, setSnapshot] = useState(() => run.actor.getSnapshot());
  useEffect(() => {
    let shownAt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const show = () => {
      timer = undefined;
      shownAt = Date.now();
      setSnapshot(run.actor.getSnapshot());
    };
    // A change between the first render and this subscription is not missed.
    show();
    const subscription = run.actor.subscribe(() => {
      if (timer !== undefined) return;
      const wait = shownAt + SNAPSHOT_REFRESH_MS - Date.now();
      if (wait <= 0) show();
      else timer = setTimeout(show, wait);
    });
    return () => {
      subscription.unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [run]);
  return snapshot;
}

export function useHostStates(run: Run): Record<string, ConnectionState> {
  const [states, setStates] = useState(() => run.hosts.states());
  useEffect(() => run.hosts.subscribe(() => setStates(run.hosts.states())), [run]);
  return states;
}

export function useQuestion(questions: Questions): Question | undefined {
  return useSyncExternalStore(
    (onChange) => questions.subscribe(onChange),
    () => questions.current(),
  );
}

export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
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

/** The last `height` lines of a step's output (scrolled back by `scroll`), refreshed at most every OUTPUT_REFRESH_MS. */
export function useOutputTail(run: Run, stepId: string | null, height: number, scroll: number): OutputTail {
  const [tail, setTail] = useState<OutputTail>(EMPTY);
  useEffect(() => {
    let shownKey = '';
    const refresh = () => {
      const output = stepId ? run.outputs.of(stepId) : undefined;
      if (!output) {
        if (shownKey !== 'none') setTail(EMPTY);
        shownKey = 'none';
        return;
      }
      const key = `${run.outputs.version}:${output.ring.total}:${height}:${scroll}:${output.progress?.text ?? ''}:${output.revert?.state ?? ''}`;
      if (key === shownKey) return;
      shownKey = key;
      setTail({
        stepId,
        lines: output.ring.tail(height, Math.min(scroll, Math.max(0, output.ring.retained - height))),
        progress: output.progress,
        revert: output.revert ? { ...output.revert } : null,
        total: output.ring.total,
        bytes: output.bytes,
        path: output.path,
      });
    };
    refresh();
    const timer = setInterval(refresh, OUTPUT_REFRESH_MS);
    return () => clearInterval(timer);
  }, [run, stepId, height, scroll]);
  return tail;
}
