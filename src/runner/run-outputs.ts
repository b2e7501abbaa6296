// The output of every step attempt of a run: opened when a step starts, closed when it
// ends, and journaled by reference (file, bytes, lines) rather than line by line.
import { existsSync, statSync } from 'node:fs';
import { LineRing, type TailLine } from '../output/line-ring.js';
import { neutralize } from '../output/neutralize.js';
import { StepOutput, type OutputOffsets, type RevertShown, type StepProgress } from '../output/step-output.js';
import type { SecretMasker } from '../output/secret-mask.js';
import type { Step } from '../runbook/types.js';
import { readLogTail } from '../store/log-tail.js';

/** What the screen reads of a step's output: a live one, or one recalled from its log after a resume. */
export interface ShownOutput {
  readonly ring: LineRing;
  readonly bytes: number;
  readonly progress: StepProgress | null;
  readonly path: string;
  readonly revert?: RevertShown | null;
  /** The line being written, not ended yet (a progress bar); absent for closed outputs. */
  readonly partialLine?: TailLine | null;
}

export interface ClosedOutput {
  stepId: string;
  attempt: number;
  file: string;
  bytes: number;
  lines: number;
}

export class RunOutputs {
  private readonly attempts = new Map<string, number>();
  /** Steps whose next start goes on with their last attempt (a detached command followed again: after a resume, or reattached). */
  private readonly continuing = new Set<string>();
  /**
   * How far the logs of continuing steps were saved: they go on from there. Also where
   * each detached command's log stood when its output closed, for a reattach.
   */
  private readonly savedOffsets = new Map<string, OutputOffsets>();
  /** Open outputs that can be continued from their offsets (detached commands), by step. */
  private readonly followed = new Map<string, { attempt: number; output: StepOutput }>();
  private readonly latest = new Map<string, ShownOutput>();
  private readonly open = new Map<StepOutput, Step>();
  /** Steps looked back at (history), read from their logs once: until the step runs again. */
  private readonly lookedBack = new Map<string, ShownOutput>();
  /** Bumped when a step's output is opened, so the screen knows to switch to it. */
  version = 0;
  lastStepId: string | null = null;

  constructor(
    private readonly pathFor: (stepId: string, attempt: number) => string,
    private readonly onClosed: (closed: ClosedOutput) => void,
    private readonly onLines?: (step: Step, lines: string[], stderr: boolean) => void,
    private readonly keepRings = 8,
    /** The run's secrets, masked in every output. */
    private readonly secrets?: SecretMasker,
  ) {}

  /** After a resume: the attempts so far, the steps whose running attempt goes on, and how far their logs were saved. */
  seed(attempts: Record<string, number>, continuing: string[], offsets: Record<string, OutputOffsets> = {}): void {
    for (const [stepId, count] of Object.entries(attempts)) this.attempts.set(stepId, count);
    for (const stepId of continuing) this.continuing.add(stepId);
    for (const [stepId, saved] of Object.entries(offsets)) this.savedOffsets.set(stepId, saved);
  }

  /** No step's output is open: nothing can be printed until a step starts. */
  get allClosed(): boolean {
    return this.open.size === 0;
  }

  /** Whether the step's next start follows its last attempt again (after a resume, or reattached). */
  continuesLast(stepId: string): boolean {
    return this.continuing.has(stepId);
  }

  /** Whether the host said the step's last attempt (followed again next) was started there. */
  startedOnHost(stepId: string): boolean {
    return this.continuing.has(stepId) && this.savedOffsets.get(stepId)?.started === true;
  }

  /** The step's next start follows its last attempt again (reattached), its log going on from where it stopped. */
  continueLast(stepId: string): void {
    this.continuing.add(stepId);
  }

  start(step: Step): StepOutput {
    this.lookedBack.delete(step.id);
    const continued = this.continuing.delete(step.id);
    const attempt = (this.attempts.get(step.id) ?? 0) + (continued ? 0 : 1);
    this.attempts.set(step.id, attempt);
    const file = this.pathFor(step.id, attempt);
    const onLines = this.onLines;
    const continueAt = continued ? this.continueAt(step, attempt, file) : undefined;
    const output = new StepOutput(file, {
      ...(onLines ? { onLines: (lines: string[], stderr: boolean) => onLines(step, lines, stderr) } : {}),
      ...(continueAt ? { continueAt } : {}),
      ...(this.secrets ? { secrets: this.secrets } : {}),
      onClosed: (closed) => {
        this.open.delete(closed);
        if (this.followed.get(step.id)?.output === closed) {
          this.followed.delete(step.id);
          this.savedOffsets.set(step.id, { attempt, ...offsetsOf(closed) });
        }
        this.onClosed({ stepId: step.id, attempt, file: closed.path, bytes: closed.bytes, lines: closed.lines });
      },
    });
    this.open.set(output, step);
    if (step.kind === 'run' && step.detached) this.followed.set(step.id, { attempt, output });
    this.show(step.id, output);
    return output;
  }

  /**
   * Where a continued detached attempt's log goes on: at its saved offsets, the host sending what
   * came after them. Without them (a snapshot from before they were kept), or when the log
   * is shorter than they say, it is rewritten from the start: the host still has all of it.
   */
  private continueAt(step: Step, attempt: number, file: string): { stdout: number; stderr: number; log?: number } | undefined {
    // Anything else followed again (a reboot said to be done) only adds to its log.
    if (!(step.kind === 'run' && step.detached)) return existsSync(file) ? { stdout: statSync(file).size, stderr: 0 } : undefined;
    const saved = this.savedOffsets.get(step.id);
    this.savedOffsets.delete(step.id);
    if (!saved || saved.attempt !== attempt || !existsSync(file)) return undefined;
    if (statSync(file).size < (saved.log ?? saved.stdout + saved.stderr)) return undefined;
    return { stdout: saved.stdout, stderr: saved.stderr, ...(saved.log !== undefined ? { log: saved.log } : {}) };
  }

  /**
   * How far the log of each detached command running now is written, for the snapshot;
   * and of the `unsettled` steps' last attempts, which may still run on their hosts and be
   * followed again.
   */
  offsets(unsettled: string[] = []): Record<string, OutputOffsets> {
    const stopped = unsettled.flatMap((stepId) => {
      const saved = this.savedOffsets.get(stepId);
      return saved ? [[stepId, saved] as const] : [];
    });
    const running = [...this.followed].map(([stepId, { attempt, output }]) => [stepId, { attempt, ...offsetsOf(output) }] as const);
    return Object.fromEntries([...stopped, ...running]);
  }

  /**
   * After a resume: the end of the step's last attempt's log, so the screen shows what the
   * step printed before nightshift stopped (stdout and stderr are one file there).
   */
  recall(stepId: string, linesPrinted?: number): void {
    const attempt = this.attempts.get(stepId) ?? 0;
    const file = this.pathFor(stepId, attempt);
    if (attempt === 0 || !existsSync(file)) return;
    const ring = new LineRing();
    const { text } = readLogTail(file, ring.capacity, { countBefore: false });
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    // Only the end is read back; the lines before it are counted as the journal says.
    if (linesPrinted !== undefined) ring.skip(Math.max(0, linesPrinted - lines.length));
    for (const line of lines) ring.push(neutralize(line), false);
    this.show(stepId, { ring, bytes: Buffer.byteLength(text), progress: null, path: file });
  }

  /** A line of nightshift's own about a step shown from its log (after a resume): on screen and in plain mode, not in the log. */
  noteRecalled(step: Step, text: string): void {
    const line = neutralize(text);
    this.latest.get(step.id)?.ring.push(line, true);
    this.onLines?.(step, [line], true);
  }

  /** A step found done by its check (asked first): on screen, what the check printed, under nightshift's line saying so; no log of its own. */
  showFoundDone(stepId: string, checkOutput: string): void {
    const ring = new LineRing();
    ring.push('nightshift: already done (check passed): not run', true);
    for (const line of checkOutput.replace(/\n$/, '').split('\n')) if (line !== '') ring.push(neutralize(line), false);
    this.show(stepId, { ring, bytes: Buffer.byteLength(checkOutput), progress: null, path: '' });
  }

  private show(stepId: string, output: ShownOutput): void {
    this.latest.delete(stepId);
    this.latest.set(stepId, output);
    // Only recent steps keep their lines in memory; the files keep everything. A step still
    // running keeps its lines (the hosts of a rollout's batch run side by side).
    for (const [shownId, shown] of this.latest) {
      if (this.latest.size <= this.keepRings) break;
      if (!this.open.has(shown as StepOutput)) this.latest.delete(shownId);
    }
    this.lastStepId = stepId;
    this.version++;
  }

  /** Ends outputs still open (a step aborted by shutdown), so their files are complete and journaled. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((output) => output.close()));
  }

  /** The attempt number of the step's latest output (0 before it first ran). */
  attemptOf(stepId: string): number {
    return this.attempts.get(stepId) ?? 0;
  }

  /** The open outputs' lines not ended yet (progress bars), with their steps, for plain mode on a terminal. */
  unfinishedLines(): { step: Step; line: TailLine }[] {
    const found: { step: Step; line: TailLine }[] = [];
    for (const [output, step] of this.open) {
      const line = output.partialLine;
      if (line) found.push({ step, line });
    }
    return found;
  }

  of(stepId: string): ShownOutput | undefined {
    return this.latest.get(stepId);
  }

  /**
   * A step the upgrader looks back at: every attempt, read from its log, each headed by a line
   * of nightshift's own when there were several (the last lines of them all, as a ring holds
   * them). A step whose output is open shows it live instead; one never run, what it showed.
   */
  history(stepId: string): ShownOutput | undefined {
    const shown = this.latest.get(stepId);
    if (shown && this.open.has(shown as StepOutput)) return shown;
    const attempts = this.attempts.get(stepId) ?? 0;
    if (attempts === 0) return shown;
    const cached = this.lookedBack.get(stepId);
    if (cached) return cached;
    const ring = new LineRing();
    let bytes = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const file = this.pathFor(stepId, attempt);
      if (attempts > 1) ring.push(`── attempt ${attempt} of ${attempts} ──`, true);
      if (!existsSync(file)) {
        ring.push('nightshift: no log of this attempt', true);
        continue;
      }
      const { text } = readLogTail(file, ring.capacity, { countBefore: false });
      bytes += statSync(file).size;
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      for (const line of lines) ring.push(neutralize(line), false);
    }
    const output: ShownOutput = { ring, bytes, progress: null, path: this.pathFor(stepId, attempts) };
    this.lookedBack.set(stepId, output);
    // A few are kept, as for the steps shown last: paging back and forth reads no log twice.
    for (const oldest of this.lookedBack.keys()) {
      if (this.lookedBack.size <= this.keepRings) break;
      this.lookedBack.delete(oldest);
    }
    return output;
  }
}

function offsetsOf(output: StepOutput): Omit<OutputOffsets, 'attempt'> {
  const log = output.bytes !== output.stdoutBytes + output.stderrBytes ? { log: output.bytes } : {};
  return { stdout: output.stdoutBytes, stderr: output.stderrBytes, ...log, ...(output.startedOnHost ? { started: true as const } : {}) };
}
