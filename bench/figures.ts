// One measured figure: the value, the reference measured in the same run, their ratio, and
// the goal it is held to.
import type { Sshd, SshdOptions } from '../test/support/sshd.js';

export interface BenchContext {
  root: string;
  bin: string;
  node: string;
  work: string;
  sshConfig: string;
  knownHosts: string;
  cipher: string;
  log(text: string): void;
  /** Starts an sshd that is stopped with the others when the bench is stopped half way, and removed by the next bench when it was killed outright. */
  startSshd(options: SshdOptions): Promise<Sshd>;
}

export interface Figure {
  name: string;
  value: number;
  unit: string;
  reference?: { what: string; value: number };
  /** value / reference (or reference / value for "more is better" figures: see `ratioMeaning`). */
  ratio?: number;
  ratioMeaning?: string;
  goal: string;
  met: boolean | null;
  notes?: string;
}

export function formatFigure(figure: Figure): string {
  const mark = figure.met === null ? ' ' : figure.met ? '✓' : '✗';
  const value = `${round(figure.value)} ${figure.unit}`;
  const reference = figure.reference ? ` vs ${figure.reference.what} ${round(figure.reference.value)} ${figure.unit}` : '';
  const ratio = figure.ratio !== undefined ? ` = ${figure.ratio.toFixed(2)}x${figure.ratioMeaning ? ` ${figure.ratioMeaning}` : ''}` : '';
  return `${mark} ${figure.name.padEnd(34)} ${value}${reference}${ratio}   goal ${figure.goal}${figure.notes ? `  (${figure.notes})` : ''}`;
}

function round(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
