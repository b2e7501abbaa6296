// A run step with revert_after, run the way a run runs it (runWithRevert around the detached
// command) on a pool of the test's, its output collected.
import { StepOutput } from '../../src/output/step-output.js';
import type { RunStep } from '../../src/runbook/types.js';
import type { RemoteHosts } from '../../src/runner/remote-hosts.js';
import { runWithRevert, type RevertContext } from '../../src/runner/revert.js';

export interface RevertStepOptions {
  /** The step output's log file. */
  logFile: string;
  sessionId: string;
  sites: RevertContext['sites'];
  /** Called once the change has run, before the revert is disarmed (or fires). */
  onChanged?(): void;
}

/** How the step ended (its result, or its error's message), the revert's events in order, and the output's last lines. */
export async function runStepWithRevert(hosts: RemoteHosts, step: RunStep, options: RevertStepOptions) {
  if (!step.revert) throw new Error(`step ${step.id} has no revert`);
  const output = new StepOutput(options.logFile);
  const events: string[] = [];
  const { sessionId } = options;
  const outcome = await runWithRevert(
    { ...step, revert: step.revert },
    {
      hosts,
      output,
      sessionId,
      attempt: 1,
      signal: new AbortController().signal,
      sites: options.sites,
      onEvent: (event) => events.push(event.type),
      graceMs: 20_000,
    },
    async () => {
      const result = await hosts.runDetached(step.host, step.command, {
        runId: `${sessionId}/${step.id}.1`,
        onStdout: (chunk) => output.write(chunk),
        onStderr: (chunk) => output.write(chunk, true),
      });
      options.onChanged?.();
      return result;
    },
  ).then(
    (result) => ({ result }),
    (error: Error) => ({ error: error.message }),
  );
  await output.close();
  return {
    ...outcome,
    events,
    text: output.ring
      .tail(100)
      .map((line) => line.text)
      .join('\n'),
  };
}
