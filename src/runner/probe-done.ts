// The "already done?" probe asked before a step runs (`skip_done`, going again): the
// step's check, where the step runs, with what it printed kept (stdout and stderr as they
// came, cut to PROBE_OUTPUT_LIMIT bytes, secrets masked) for the journal and the report.
import type { ProbeResult } from '../engine/setup.js';
import type { CommandResult } from '../engine/machine.js';
import type { LocalStep, RunStep } from '../runbook/types.js';

/** What is kept of a probe's output: enough to show why the step counts as done. */
export const PROBE_OUTPUT_LIMIT = 4096;

/** Collects a probe's output up to the limit, and says when it was cut. */
export class ProbeOutput {
  private chunks: Buffer[] = [];
  private kept = 0;
  private cut = false;

  write(chunk: Buffer): void {
    const room = PROBE_OUTPUT_LIMIT - this.kept;
    if (room <= 0) {
      this.cut ||= chunk.length > 0;
      return;
    }
    const part = chunk.subarray(0, room);
    if (part.length < chunk.length) this.cut = true;
    this.chunks.push(part);
    this.kept += part.length;
  }

  text(mask: (text: string) => string = (text) => text): string {
    // A multi-byte character cut at the limit decodes as U+FFFD: harmless in a record.
    const text = mask(Buffer.concat(this.chunks).toString('utf8'));
    return this.cut ? `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}[cut at ${PROBE_OUTPUT_LIMIT} bytes]` : text;
  }
}

/** Runs `check` with `run` (remote or local, given the output's writer) and returns its exit status and what it printed. */
export async function probeDone(
  step: RunStep | LocalStep,
  run: (check: string, write: (chunk: Buffer) => void) => Promise<CommandResult>,
  mask?: (text: string) => string,
): Promise<ProbeResult> {
  const output = new ProbeOutput();
  const result = await run(step.check ?? 'false', (chunk) => output.write(chunk));
  return { exitCode: result.exitCode, output: output.text(mask) };
}
