// The attach script's stdout (detached-scripts.ts) carries three things: the start's report up
// to the begin mark, the command's own stdout, and after the end mark the run's report. This
// splits them as the bytes come, passing on the command's bytes at once: only a chunk that ends
// in what could be the start of the end mark (a NUL byte, then the mark's first bytes) is held
// back until the next one says.
import { attachMarks } from './detached-scripts.js';

/** The start's report and the run's report are a few lines; more is not a report. */
const MAX_REPORT_BYTES = 64 * 1024;
const NEWLINE = Buffer.from('\n');

export class AttachOutput {
  /** The begin mark with the newline before it. */
  private readonly beginLine: Buffer;
  private readonly end: Buffer;
  private phase: 'start' | 'output' | 'report' = 'start';
  private startBytes = Buffer.alloc(0);
  private held: Buffer | null = null;
  private report = '';
  private reported = false;
  private markReported: (report: string) => void = () => {};
  /** Resolves with the run's report once it came whole (its last line `end=ok`): the script may still wait to be told to release. */
  readonly whenReported = new Promise<string>((resolve) => (this.markReported = resolve));

  constructor(
    nonce: string,
    /** The command's stdout. */
    private readonly onOutput: (chunk: Buffer) => void,
    /** The begin mark came: the run is started, with the start's report (empty when only followed). */
    private readonly onBegun: (startReport: string) => void,
  ) {
    const marks = attachMarks(nonce);
    this.beginLine = Buffer.from(`\n${marks.begin}`);
    this.end = Buffer.from(marks.end);
  }

  /** Whether the begin mark came: whatever the channel says from then on is the follow's. */
  get begun(): boolean {
    return this.phase !== 'start';
  }

  /** What came before the begin mark: the start's report and what it said on failing. */
  get startText(): string {
    return this.startBytes.toString('utf8');
  }

  /** What came after the end mark (the run's report), or null when it did not come. */
  get reportText(): string | null {
    return this.phase === 'report' ? this.report : null;
  }

  write(chunk: Buffer): void {
    if (this.phase === 'start') {
      // The mark is a line of its own: looked for after a newline, with one put before the first line.
      const data = Buffer.concat([this.startBytes, chunk]);
      const found = Buffer.concat([NEWLINE, data]).indexOf(this.beginLine);
      if (found < 0) {
        this.startBytes = data.length > MAX_REPORT_BYTES ? data.subarray(data.length - MAX_REPORT_BYTES) : data;
        return;
      }
      this.startBytes = data.subarray(0, found);
      this.phase = 'output';
      this.onBegun(this.startText);
      const rest = data.subarray(found + this.beginLine.length - 1);
      if (rest.length > 0) this.write(rest);
      return;
    }
    if (this.phase === 'report') {
      if (this.report.length >= MAX_REPORT_BYTES || this.reported) return;
      this.report += chunk.toString('utf8');
      if (this.report === 'end=ok\n' || this.report.endsWith('\nend=ok\n')) {
        this.reported = true;
        this.markReported(this.report);
      }
      return;
    }
    const data = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = null;
    const at = data.indexOf(this.end);
    if (at >= 0) {
      if (at > 0) this.onOutput(data.subarray(0, at));
      this.phase = 'report';
      this.write(data.subarray(at + this.end.length));
      return;
    }
    const keep = this.markStartAtEnd(data);
    if (keep > 0) this.held = Buffer.from(data.subarray(data.length - keep));
    if (data.length > keep) this.onOutput(keep > 0 ? data.subarray(0, data.length - keep) : data);
  }

  /** How many of the last bytes of `data` are the first bytes of the end mark. */
  private markStartAtEnd(data: Buffer): number {
    for (let from = Math.max(0, data.length - this.end.length + 1); from < data.length; from++) {
      if (data[from] === 0 && data.subarray(from).equals(this.end.subarray(0, data.length - from))) return data.length - from;
    }
    return 0;
  }
}
