// Progress of an upload for the humans: throttled to a few calls a second, with a rate
// measured over the last few seconds (so a stall shows quickly) and the time left.

export type UploadPhase = 'hashing' | 'sending' | 'verifying';

export interface UploadProgress {
  /** Work done in this phase: bytes hashed locally, or bytes on the target (resumed ones included). */
  bytes: number;
  /** The file's size. */
  total: number;
  bytesPerSecond: number;
  /** null while the rate is not known yet, or when the phase cannot tell (verifying). */
  etaMs: number | null;
  /** Bytes of an earlier attempt kept on the target. */
  resumedFrom: number;
  phase: UploadPhase;
}

const MIN_INTERVAL_MS = 100;
const RATE_WINDOW_MS = 3000;
/** Below this much history the rate is noise. */
const MIN_RATE_SPAN_MS = 200;
const STALL_REPORT_MS = 1000;

interface Sample {
  at: number;
  bytes: number;
}

export class ProgressReporter {
  private phaseName: UploadPhase = 'hashing';
  private bytes = 0;
  private samples: Sample[] = [];
  private lastEmitAt = Number.NEGATIVE_INFINITY;
  private resumedFrom = 0;

  constructor(
    private readonly total: number,
    private readonly listener: ((progress: UploadProgress) => void) | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a phase at `bytes` and reports it at once. */
  start(phase: UploadPhase, bytes = 0): void {
    this.phaseName = phase;
    this.bytes = bytes;
    this.samples = [{ at: this.now(), bytes }];
    this.emit();
  }

  setResumedFrom(bytes: number): void {
    this.resumedFrom = bytes;
  }

  /** Adds finished work; reports when the last report is old enough. */
  advance(bytes: number): void {
    this.bytes += bytes;
    const at = this.now();
    this.samples.push({ at, bytes: this.bytes });
    while (this.samples.length > 2 && (this.samples[1]?.at ?? at) <= at - RATE_WINDOW_MS) this.samples.shift();
    if (at - this.lastEmitAt >= MIN_INTERVAL_MS) this.emit();
  }

  /** Reports the phase's last state even if a report was just made, so the final numbers are seen. */
  flush(): void {
    this.emit();
  }

  /** Called on a timer: when nothing moved for a while, a report shows the rate falling. */
  tick(): void {
    if (this.now() - this.lastEmitAt >= STALL_REPORT_MS) this.emit();
  }

  private emit(): void {
    if (!this.listener) return;
    const at = (this.lastEmitAt = this.now());
    const measured = this.phaseName !== 'verifying';
    const rate = measured ? this.rate(at) : 0;
    const left = this.total - this.bytes;
    this.listener({
      bytes: this.bytes,
      total: this.total,
      bytesPerSecond: rate,
      etaMs: !measured ? null : left <= 0 ? 0 : rate > 0 ? Math.round((left / rate) * 1000) : null,
      resumedFrom: this.resumedFrom,
      phase: this.phaseName,
    });
  }

  private rate(at: number): number {
    const first = this.samples[0];
    if (!first) return 0;
    const span = at - first.at;
    if (span < MIN_RATE_SPAN_MS) return 0;
    return Math.round(((this.bytes - first.bytes) / span) * 1000);
  }
}
