// Restoring a saved rollout: every host whose detached step was in flight is followed
// again under the same attempt, not only the host in focus.
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import type { CommandResult } from '../engine/machine.js';
import { compileRunbook } from '../engine/machine.js';
import { parseRunbook } from '../runbook/load.js';
import type { Step } from '../runbook/types.js';
import { restoreMachine } from './restore.js';

const source = `name: fleet restore test
groups:
  fleet: [a, b, c]
phases:
  - name: roll
    for_each: fleet
    steps:
      - run: sleep 5; echo done
        host: "{{host}}"
`;

function machineFor() {
  const runbook = parseRunbook(source, 'rb.yaml');
  const ran: string[] = [];
  const machine = compileRunbook(runbook).provide({
    actors: {
      runRemote: fromPromise(async ({ input }: { input: { step: Step } }) => {
        ran.push(input.step.id);
        return new Promise<CommandResult>(() => {});
      }),
    },
  });
  return { runbook, machine, ran };
}

describe('restoring a saved rollout', () => {
  it('follows again the detached step of every host that was running, not only the one in focus', async () => {
    const first = machineFor();
    const actor = createActor(first.machine);
    actor.start();
    await waitFor(actor, () => first.ran.length === 3);
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as unknown;
    actor.stop();

    const restored = restoreMachine(saved, machineFor().runbook);
    expect([...restored.reattach].sort()).toEqual(['roll-1@a', 'roll-1@b', 'roll-1@c']);
  });
});
