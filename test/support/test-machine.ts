// For tests: a runbook's machine whose remote commands succeed at once and are recorded.
import { fromPromise } from 'xstate';
import { compileRunbook, type CommandResult } from '../../src/engine/machine.js';
import { parseRunbook } from '../../src/runbook/load.js';

export function recordingMachine(source: string) {
  const runbook = parseRunbook(source, 'rb.yaml');
  const ran: string[] = [];
  const machine = compileRunbook(runbook).provide({
    actors: {
      runRemote: fromPromise(async ({ input }): Promise<CommandResult> => {
        ran.push(input.step.id);
        return { exitCode: 0 };
      }),
    },
  });
  return { runbook, machine, ran };
}
