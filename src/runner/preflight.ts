// The preflight step: each check's script run read-only on the host, judged here, and
// reported as a line of the step's output; the step fails when any check failed.
import type { StepOutput } from '../output/step-output.js';
import { describeCheck } from '../runbook/plan.js';
import type { PreflightStep } from '../runbook/types.js';
import { checkScript, judgeCheck, type Verdict } from './preflight-checks.js';
import { isAbort } from './abortable.js';
import type { RemoteHosts } from './remote-hosts.js';

export async function runPreflight(step: PreflightStep, hosts: RemoteHosts, output: StepOutput, signal: AbortSignal): Promise<void> {
  const failed: string[] = [];
  for (const check of step.checks) {
    let stdout = '';
    let stderr = '';
    let verdict: Verdict;
    try {
      const result = await hosts.exec(step.host, checkScript(check), {
        onStdout: (chunk) => (stdout += chunk.toString('utf8')),
        onStderr: (chunk) => (stderr += chunk.toString('utf8')),
        signal,
      });
      verdict =
        result.exitCode === 0
          ? judgeCheck(check, stdout)
          : { ok: false, text: `the check could not run (exit ${result.exitCode ?? result.signal}): ${stderr.trim().split('\n').at(-1) ?? ''}` };
    } catch (error) {
      if (isAbort(error) || signal.aborted) throw error;
      verdict = { ok: false, text: `the check did not run: ${(error as Error).message.replace(/\.$/, '')}` };
    }
    if (!verdict.ok) failed.push(check.kind);
    // Written as output, so the log and the report keep the verdicts.
    output.write(Buffer.from(`${verdict.ok ? 'ok' : 'FAILED'}: ${describeCheck(check)}: ${verdict.text}\n`));
  }
  if (failed.length > 0) {
    throw new Error(`${failed.length} of ${step.checks.length} preflight checks failed on ${step.host}: ${failed.join(', ')}`);
  }
}
