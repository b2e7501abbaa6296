import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import type { EngineEmitted } from '../engine/events.js';
import { compileRunbook, type CommandResult } from '../engine/machine.js';
import type { ProbeResult } from '../engine/setup.js';
import { parseRunbook } from '../runbook/load.js';
import type { Step } from '../runbook/types.js';
import { restoreMachine } from './restore.js';

const source = `name: probing restored
hosts:
  dolphin: {}
phases:
  - name: one
    steps:
      - run: first
        host: dolphin
        id: first
  - name: two
    steps:
      - run: make-it
        host: dolphin
        id: make
        check: test -f /done
`;

describe('a session saved while a check was asked first', () => {
  it('is restored in place and asks the check again', async () => {
    const runbook = parseRunbook(source, 'rb.yaml');
    const compile = { from: { phase: 'two', session: 'old' }, probeChecks: true };
    const ran: string[] = [];
    const runRemote = fromPromise(async ({ input }: { input: { step: Step } }): Promise<CommandResult> => {
      ran.push(input.step.id);
      return { exitCode: 0 };
    });
    const first = createActor(
      compileRunbook(runbook, compile).provide({ actors: { runRemote, probeDone: fromPromise(() => new Promise<ProbeResult>(() => {})) } }),
    );
    first.start();
    await waitFor(first, (snapshot) => snapshot.hasTag('probing'), { timeout: 2000 });
    const saved = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    first.stop();

    const restored = restoreMachine(saved, runbook, compile);
    expect(restored.interrupted).toBe(false);
    let probes = 0;
    const again = createActor(
      compileRunbook(runbook, compile).provide({
        actors: {
          runRemote,
          probeDone: fromPromise(async (): Promise<ProbeResult> => {
            probes++;
            return { exitCode: 0, output: 'there\n' };
          }),
        },
      }),
      { snapshot: restored.machine as never },
    );
    const emitted: EngineEmitted[] = [];
    again.on('*', (event) => emitted.push(event));
    again.start();
    await waitFor(again, (snapshot) => snapshot.status === 'done', { timeout: 2000 });
    expect(probes).toBe(1);
    expect(ran).toEqual([]);
    expect(emitted).toContainEqual(expect.objectContaining({ type: 'step.found-done', stepId: 'make', output: 'there\n' }));
    expect(again.getSnapshot().context.steps['first']).toMatchObject({ status: 'done', carriedFrom: 'old' });
  });
});
