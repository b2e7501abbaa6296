import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import type { EngineEmitted } from '../engine/events.js';
import { compileRunbook, type CommandResult } from '../engine/machine.js';
import { parseRunbook } from '../runbook/load.js';
import type { Step } from '../runbook/types.js';
import { restoreMachine } from './restore.js';

const UPGRADER = { role: 'upgrader' as const, name: 'ana' };

const source = `name: restore in a phase fallback
hosts:
  new: {}
  old: {}
phases:
  - name: swap
    steps:
      - run: ip addr add
        host: new
        id: add
        on_fail: fallback
    fallback:
      - local: tell the noc
        id: tell
      - run: ip addr del
        host: new
        id: del
fallback:
  - run: swap back
    host: old
    id: back
`;

/** A machine whose commands wait until released (or fail when scripted), with a record of what ran. */
function machineFor(failing: string[] = []) {
  const runbook = parseRunbook(source, 'rb.yaml');
  const ran: string[] = [];
  const release = new Map<string, (result: CommandResult) => void>();
  const perform = async (step: Step): Promise<CommandResult> => {
    ran.push(step.id);
    if (failing.includes(step.id)) return { exitCode: 1 };
    return new Promise<CommandResult>((resolve) => release.set(step.id, resolve));
  };
  const machine = compileRunbook(runbook).provide({
    actors: {
      runRemote: fromPromise(async ({ input }) => perform(input.step)),
      runLocal: fromPromise(async ({ input }) => perform(input.step)),
    },
  });
  return { runbook, machine, ran, release };
}

describe('restoring a run inside a phase fallback', () => {
  it('a step in flight there is restored interrupted in that fallback, and the run goes on in it, not in the runbook fallback', async () => {
    const first = machineFor(['add']);
    const running = createActor(first.machine);
    running.start();
    await waitFor(running, (snapshot) => snapshot.context.current === 'tell' && snapshot.context.steps['tell']!.status === 'running');
    const saved = JSON.parse(JSON.stringify(running.getPersistedSnapshot())) as unknown;
    running.stop();

    const fresh = machineFor();
    const restored = restoreMachine(saved, fresh.runbook);
    expect(restored).toMatchObject({ inFlight: 'tell', interrupted: true });
    expect((restored.machine as { value: unknown }).value).toEqual({ phaseFallback_swap: { tell: 'interrupted' } });
    const actor = createActor(fresh.machine, { snapshot: restored.machine as never });
    const emitted: EngineEmitted[] = [];
    actor.on('*', (event) => emitted.push(event));
    actor.start();
    expect(actor.getSnapshot().context).toMatchObject({ track: 'fallback', scope: 'swap' });
    actor.send({ type: 'RESUME', by: UPGRADER });
    await waitFor(actor, (snapshot) => snapshot.context.steps['tell']!.status === 'failed');
    actor.send({ type: 'RETRY', stepId: 'tell', by: UPGRADER });
    await waitFor(actor, () => fresh.release.has('tell'));
    fresh.release.get('tell')!({ exitCode: 0 });
    await waitFor(actor, () => fresh.release.has('del'));
    fresh.release.get('del')!({ exitCode: 0 });
    await waitFor(actor, (snapshot) => snapshot.status === 'done');
    expect(actor.getSnapshot().value).toBe('fellBack');
    expect(fresh.ran).toEqual(['tell', 'del']);
    expect(emitted.map((event) => event.type)).not.toContain('fallback.started');
  });

  it('a detached step in flight there is followed again, and FALLBACK after restore still goes to the runbook fallback', async () => {
    const first = machineFor(['add']);
    const running = createActor(first.machine);
    running.start();
    await waitFor(running, () => first.release.has('tell'));
    first.release.get('tell')!({ exitCode: 0 });
    await waitFor(running, (snapshot) => snapshot.context.steps['del']!.status === 'running');
    const saved = JSON.parse(JSON.stringify(running.getPersistedSnapshot())) as unknown;
    running.stop();

    const fresh = machineFor();
    const restored = restoreMachine(saved, fresh.runbook);
    expect(restored).toMatchObject({ inFlight: 'del', reattach: ['del'] });
    const actor = createActor(fresh.machine, { snapshot: restored.machine as never });
    const emitted: EngineEmitted[] = [];
    actor.on('*', (event) => emitted.push(event));
    actor.start();
    actor.send({ type: 'FALLBACK', by: UPGRADER, reason: 'give up on new' });
    await waitFor(actor, () => fresh.release.has('back'));
    expect(emitted).toContainEqual(expect.objectContaining({ type: 'fallback.started', scope: null, reason: 'give up on new' }));
    fresh.release.get('back')!({ exitCode: 0 });
    await waitFor(actor, (snapshot) => snapshot.status === 'done');
    expect(actor.getSnapshot().value).toBe('fellBack');
  });
});
