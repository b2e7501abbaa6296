// The machine compiled from a runbook with a guard, its effects faked: the guard's steps stand
// where the loader put them, a failure inside the block fires the guard before any fallback,
// F by hand inside it does the same, and a failed commit falls back through the firing.
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { parseRunbook } from '../runbook/load.js';
import { allSteps, type GuardStep, type Step } from '../runbook/types.js';
import type { EngineEvent } from './events.js';
import { compileRunbook, type CommandResult } from './machine.js';
import { viewOf } from './view.js';
import { firstStepOf } from './going-again.js';

const UPGRADER = { role: 'upgrader' as const, name: 'ana' };

const RUNBOOK = `name: guarded
hosts:
  dragon: {}
  dolphin: {}
phases:
  - name: prepare
    steps:
      - run: prepare
        host: dolphin
        id: prep
  - name: swap
    guard:
      revert_after: 10m
      revert:
        dragon: take the address back
        dolphin: give the address back
      through: verify
    steps:
      - run: take the address
        host: dolphin
        id: take
      - checkpoint: The cable is moved
        id: cable
  - name: verify
    steps:
      - local: check from outside
        id: outside
fallback:
  - run: old dragon serves again
    host: dragon
    id: back
`;

type Script = Record<string, Array<CommandResult | Error>>;

function start(script: Script = {}) {
  const runbook = parseRunbook(RUNBOOK, 'rb.yaml');
  const steps = new Map(allSteps(runbook).map((step) => [step.id, step]));
  const done: string[] = [];
  const perform = async (step: Step): Promise<CommandResult> => {
    done.push(step.kind === 'guard' ? `${(step as GuardStep).action}:${step.id}` : step.id);
    const next = script[step.id]?.shift();
    if (next instanceof Error) throw next;
    return next ?? { exitCode: 0 };
  };
  const machine = compileRunbook(runbook).provide({
    actors: {
      runRemote: fromPromise(async ({ input }) => perform(input.step)),
      runLocal: fromPromise(async ({ input }) => perform(input.step)),
      guard: fromPromise(async ({ input }) => {
        await perform(input.step);
      }),
    },
  });
  const actor = createActor(machine);
  actor.start();
  const view = () => viewOf(actor.getSnapshot(), (id) => steps.get(id)!);
  const settle = (predicate: () => boolean) => waitFor(actor, () => predicate(), { timeout: 2000 });
  const send = (event: EngineEvent) => actor.send(event);
  return { done, view, settle, send };
}

describe('a guard in the machine', () => {
  it('arms before the block and commits after its last step', async () => {
    const run = start();
    await run.settle(() => run.view().focus?.stepId === 'cable');
    run.send({ type: 'CONFIRM', stepId: 'cable', role: 'upgrader', by: UPGRADER });
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('completed');
    expect(run.done).toEqual(['prep', 'arm:swap-guard', 'take', 'outside', 'commit:swap-guard-commit']);
  });

  it('a failure inside the block fires the guard first, then the runbook fallback', async () => {
    const run = start({ outside: [{ exitCode: 1 }] });
    await run.settle(() => run.view().focus?.stepId === 'cable');
    run.send({ type: 'CONFIRM', stepId: 'cable', role: 'upgrader', by: UPGRADER });
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('fell-back');
    expect(run.done).toEqual(['prep', 'arm:swap-guard', 'take', 'outside', 'fire:verify-guard-fire', 'back']);
  });

  it('F by hand at a checkpoint inside the block fires the guard first', async () => {
    const run = start();
    await run.settle(() => run.view().focus?.stepId === 'cable');
    run.send({ type: 'FALLBACK', by: UPGRADER, reason: 'the new dragon does not route' });
    await run.settle(() => run.view().outcome !== null);
    expect(run.done).toEqual(['prep', 'arm:swap-guard', 'take', 'fire:swap-guard-fire', 'back']);
  });

  it('a commit that fails (a host reverted by itself) falls back through the firing too', async () => {
    const run = start({ 'swap-guard-commit': [new Error('dragon reverted by itself: its deadline passed')] });
    await run.settle(() => run.view().focus?.stepId === 'cable');
    run.send({ type: 'CONFIRM', stepId: 'cable', role: 'upgrader', by: UPGRADER });
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('fell-back');
    expect(run.done.slice(-3)).toEqual(['commit:swap-guard-commit', 'fire:verify-guard-fire', 'back']);
  });

  it('an arm that fails starts nothing it guards', async () => {
    const run = start({ 'swap-guard': [new Error('dolphin: no folder for it could be written there')] });
    await run.settle(() => run.view().outcome !== null);
    expect(run.done).toEqual(['prep', 'arm:swap-guard', 'fire:swap-guard-fire', 'back']);
  });

  it('goes again from the phase that arms a guard, and refuses a phase inside its block', () => {
    const runbook = parseRunbook(RUNBOOK, 'rb.yaml');
    expect(firstStepOf(runbook, 'swap')).toBe('swap-guard');
    expect(() => firstStepOf(runbook, 'verify')).toThrow(
      'the phase "verify" is inside the guard of phase "swap", which is armed where its block starts: go again from "swap"',
    );
  });
});
