import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { compileRunbook, type CommandResult } from '../engine/machine.js';
import { parseRunbook } from '../runbook/load.js';
import { restoreMachine } from './restore.js';

const UPGRADER = { role: 'upgrader' as const, name: 'ana' };

/** Three hosts at once: vm1's step detached (followed again), vm2's in the foreground (interrupted), vm3's already failed. */
const source = `name: restore fleet
groups:
  guests: [vm1, vm2, vm3]
phases:
  - name: update
    for_each: guests
    steps:
      - run: upgrade
        host: "{{host}}"
        attach: false
        when: '"{{host}}" == "vm2"'
      - run: upgrade detached
        host: "{{host}}"
`;

function hostsAtWork() {
  const runbook = parseRunbook(source, 'rb.yaml');
  const machine = compileRunbook(runbook).provide({
    actors: {
      decideWhen: fromPromise(async ({ input }) => ({ holds: input.step.id.endsWith('@vm2'), reason: 'not vm2' })),
      runRemote: fromPromise(async ({ input }) => {
        if (input.step.id === 'update-2@vm3') return { exitCode: 1 };
        return new Promise<never>(() => {});
      }),
    },
  });
  return { runbook, machine };
}

describe('restoring a rollout saved in the middle of a batch', () => {
  it('follows each detached step again, puts each foreground one to the upgrader, and leaves a failed one failed', async () => {
    const { runbook, machine } = hostsAtWork();
    const actor = createActor(machine).start();
    await waitFor(
      actor,
      (snapshot) => snapshot.context.steps['update-2@vm3']?.status === 'failed' && snapshot.context.steps['update-1@vm2']?.status === 'running',
      {
        timeout: 2000,
      },
    );
    await waitFor(actor, (snapshot) => snapshot.context.steps['update-2@vm1']?.status === 'running', { timeout: 2000 });
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();

    const restored = restoreMachine(saved, runbook);
    expect(restored.reattach).toEqual(['update-2@vm1']);
    expect(restored.interrupted).toBe(true);
    expect(restored.inFlight).toBe('update-2@vm1');
    const batch = (restored.machine as { value: { main: { Fleet_update: { Batch_0: Record<string, unknown> } } } }).value.main.Fleet_update.Batch_0;
    expect(batch['vm2']).toEqual({ 'update-1@vm2': 'interrupted' });
    expect(batch['vm3']).toEqual({ 'update-2@vm3': 'failed' });
    expect(Object.keys((restored.machine as { children: object }).children)).toEqual([expect.stringContaining('.update-2@vm1.')]);

    // Going on from it: the interrupted host is decided by the upgrader, the others as they were.
    const again = createActor(compileRunbook(runbook).provide({ actors: { runRemote: fromPromise(async (): Promise<CommandResult> => ({ exitCode: 0 })) } }), {
      snapshot: restored.machine as never,
    }).start();
    again.send({ type: 'RESUME', by: UPGRADER });
    await waitFor(again, (snapshot) => snapshot.context.steps['update-1@vm2']?.status === 'failed', { timeout: 2000 });
    again.send({ type: 'MARK_DONE', stepId: 'update-1@vm2', by: UPGRADER, reason: 'it finished, I looked' });
    again.send({ type: 'RETRY', stepId: 'update-2@vm3', by: UPGRADER });
    await waitFor(again, (snapshot) => snapshot.status === 'done', { timeout: 2000 }).catch((error) => {
      throw new Error(`${error}: ${JSON.stringify(again.getSnapshot().value)}`);
    });
    expect(again.getSnapshot().value).toBe('completed');
    expect(Object.values(again.getSnapshot().context.fleets!['update']!.hosts).map((host) => host.outcome)).toEqual(['done', 'done', 'done']);
  });
});
