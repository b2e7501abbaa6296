import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock, waitFor } from 'xstate';
import { parseRunbook } from '../runbook/load.js';
import type { Step } from '../runbook/types.js';
import type { EngineEmitted, EngineEvent } from './events.js';
import { compileRunbook, type CommandResult } from './machine.js';
import { viewOf } from './view.js';

const UPGRADER = { role: 'upgrader' as const, name: 'ana' };
const SENTINEL = { role: 'sentinel' as const, name: 'wei' };

const source = `name: engine test
hosts:
  dragon: {}
  dolphin: {}
phases:
  - name: prepare
    steps:
      - run: make-partitions
        host: dolphin
        id: part
        destructive: "/dev/sdb"
      - run: restore
        host: dolphin
        id: restore
      - note: half way
        id: half
  - name: cutover
    steps:
      - checkpoint: move the modem
        id: modem
        by: both
        confirm: dragon
      - wait: ssh
        host: dolphin
        id: up
        timeout: 30s
      - run: verify
        host: dolphin
        id: verify
fallback:
  - run: swap back
    host: dragon
    id: back
`;

/** Each command's results, consumed in order; a missing entry exits 0. */
type Script = Record<string, Array<CommandResult | Error | 'hang'>>;

function start(script: Script = {}, text = source, clock?: SimulatedClock) {
  const runbook = parseRunbook(text, 'rb.yaml');
  const stepOf = (id: string): Step =>
    [...runbook.phases.flatMap((p) => p.steps), ...runbook.fallback].find((s) => s.id === id)!;
  const executed: string[] = [];
  const aborted: string[] = [];
  const perform = async (step: Step, signal: AbortSignal): Promise<CommandResult> => {
    executed.push(step.id);
    const next = script[step.id]?.shift();
    if (next === 'hang') {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      aborted.push(step.id);
      return { exitCode: null, signal: 'TERM' };
    }
    if (next instanceof Error) throw next;
    return next ?? { exitCode: 0 };
  };
  const machine = compileRunbook(runbook).provide({
    actors: {
      runRemote: fromPromise(async ({ input, signal }) => perform(input.step, signal)),
      runLocal: fromPromise(async ({ input, signal }) => perform(input.step, signal)),
      waitUntil: fromPromise(async ({ input, signal }) => {
        const result = await perform(input.step, signal);
        if (result.exitCode !== 0) throw new Error('host never came up');
      }),
    },
  });
  const actor = createActor(machine, clock ? { clock } : {});
  const emitted: EngineEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  const view = () => viewOf(actor.getSnapshot(), stepOf);
  const send = (event: EngineEvent) => actor.send(event);
  const settle = (predicate: () => boolean) => waitFor(actor, () => predicate(), { timeout: 2000 });
  const focusIs = (stepId: string, waitingFor: string) =>
    settle(() => view().focus?.stepId === stepId && view().focus?.waitingFor === waitingFor);
  return { actor, runbook, executed, aborted, emitted, view, send, settle, focusIs };
}

async function approveAndConfirm(run: ReturnType<typeof start>) {
  await run.focusIs('part', 'approval');
  run.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: '/dev/sdb' });
  await run.focusIs('modem', 'confirmation');
  run.send({ type: 'CONFIRM', stepId: 'modem', role: 'upgrader', by: UPGRADER, value: 'dragon' });
  run.send({ type: 'CONFIRM', stepId: 'modem', role: 'sentinel', by: SENTINEL, value: 'dragon' });
}

describe('compiled runbook machine', () => {
  it('runs every step in order to completion', async () => {
    const run = start();
    await approveAndConfirm(run);
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('completed');
    expect(run.executed).toEqual(['part', 'restore', 'up', 'verify']);
    const statuses = Object.fromEntries(Object.entries(run.actor.getSnapshot().context.steps).map(([id, r]) => [id, r.status]));
    expect(statuses).toEqual({ part: 'done', restore: 'done', half: 'done', modem: 'done', up: 'done', verify: 'done', back: 'pending' });
    expect(run.emitted.at(-1)).toMatchObject({ type: 'run.finished', outcome: 'completed' });
  });

  it('does not run a destructive step until the typed text matches', async () => {
    const run = start();
    await run.focusIs('part', 'approval');
    run.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: '/dev/sda' });
    expect(run.view().focus).toMatchObject({ stepId: 'part', waitingFor: 'approval' });
    expect(run.executed).toEqual([]);
    expect(run.emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: 'the typed text does not match "/dev/sdb"' });
    run.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: ' /dev/sdb ' });
    await run.focusIs('modem', 'confirmation');
    expect(run.executed).toEqual(['part', 'restore']);
  });

  it('waits at a failed step for a decision, and retry runs it again', async () => {
    const run = start({ restore: [{ exitCode: 2 }] });
    await run.focusIs('part', 'approval');
    run.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: '/dev/sdb' });
    await run.focusIs('restore', 'decision');
    expect(run.view().focus).toMatchObject({ error: 'exited with status 2' });
    run.send({ type: 'RETRY', stepId: 'restore', by: UPGRADER });
    await run.focusIs('modem', 'confirmation');
    expect(run.executed).toEqual(['part', 'restore', 'restore']);
    expect(run.actor.getSnapshot().context.steps['restore']).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('skips only with a reason, and journals it', async () => {
    const run = start({ restore: [new Error('link dropped')] });
    await run.focusIs('part', 'approval');
    run.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: '/dev/sdb' });
    await run.focusIs('restore', 'decision');
    expect(run.view().focus).toMatchObject({ error: 'link dropped' });
    run.send({ type: 'SKIP', stepId: 'restore', by: UPGRADER, reason: '   ' });
    expect(run.view().focus).toMatchObject({ stepId: 'restore', waitingFor: 'decision' });
    run.send({ type: 'SKIP', stepId: 'restore', by: UPGRADER, reason: 'restored by hand' });
    await run.focusIs('modem', 'confirmation');
    expect(run.actor.getSnapshot().context.steps['restore']).toMatchObject({ status: 'skipped', skipReason: 'restored by hand' });
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'step.skipped', stepId: 'restore', reason: 'restored by hand' }));
  });

  it('falls back from a failure by decision and ends fell-back', async () => {
    const run = start({ verify: [{ exitCode: 1 }] });
    await approveAndConfirm(run);
    await run.focusIs('verify', 'decision');
    run.send({ type: 'FALLBACK', by: UPGRADER, reason: 'routing table wrong' });
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('fell-back');
    expect(run.executed.at(-1)).toBe('back');
    expect(run.emitted).toContainEqual(
      expect.objectContaining({ type: 'fallback.started', reason: 'routing table wrong', fromStepId: 'verify' }),
    );
  });

  it('falls back by itself when a step says on_fail: fallback', async () => {
    const text = source.replace('id: verify\n', 'id: verify\n        on_fail: fallback\n');
    const run = start({ verify: [{ exitCode: 1 }] }, text);
    await approveAndConfirm(run);
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('fell-back');
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'decision', action: 'fallback', by: { role: 'nightshift', name: 'nightshift' } }));
  });

  it('goes on past a failure when a step says on_fail: continue', async () => {
    const text = source.replace('id: restore\n', 'id: restore\n        on_fail: continue\n');
    const run = start({ restore: [{ exitCode: 1 }] }, text);
    await run.focusIs('part', 'approval');
    run.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: '/dev/sdb' });
    await run.focusIs('modem', 'confirmation');
    expect(run.actor.getSnapshot().context.steps['restore']!.status).toBe('failed');
  });

  it('a checkpoint for both needs both roles, and refuses a repeated role', async () => {
    const run = start();
    await run.focusIs('part', 'approval');
    run.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: '/dev/sdb' });
    await run.focusIs('modem', 'confirmation');
    run.send({ type: 'CONFIRM', stepId: 'modem', role: 'sentinel', by: SENTINEL, value: 'dolphin' });
    expect(run.view().focus).toMatchObject({ roles: ['upgrader', 'sentinel'] });
    run.send({ type: 'CONFIRM', stepId: 'modem', role: 'sentinel', by: SENTINEL, value: 'dragon' });
    expect(run.view().focus).toMatchObject({ roles: ['upgrader'] });
    run.send({ type: 'CONFIRM', stepId: 'modem', role: 'sentinel', by: SENTINEL, value: 'dragon' });
    expect(run.emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: 'the sentinel has already confirmed' });
    run.send({ type: 'CONFIRM', stepId: 'modem', role: 'upgrader', by: UPGRADER, value: 'dragon' });
    await run.settle(() => run.view().outcome === 'completed');
  });

  it('refuses a sentinel confirmation relayed by the upgrader when relays are off', async () => {
    const runbook = parseRunbook(source, 'rb.yaml');
    const machine = compileRunbook(runbook, { relaysAllowed: false });
    const actor = createActor(machine.provide({ actors: { runRemote: fromPromise(async (): Promise<CommandResult> => ({ exitCode: 0 })) } })).start();
    actor.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: '/dev/sdb' });
    await waitFor(actor, (s) => s.context.current === 'modem', { timeout: 2000 });
    const refusals: string[] = [];
    actor.on('step.refused', (event) => refusals.push(event.reason));
    actor.send({ type: 'CONFIRM', stepId: 'modem', role: 'sentinel', by: UPGRADER, value: 'dragon' });
    expect(refusals).toEqual(['only the sentinel can confirm for the sentinel']);
  });

  it('bounds a wait by its timeout and aborts the effect', async () => {
    const clock = new SimulatedClock();
    const run = start({ up: ['hang'] }, source, clock);
    await approveAndConfirm(run);
    await run.focusIs('up', 'running');
    clock.increment(29_000);
    expect(run.view().focus).toMatchObject({ stepId: 'up', waitingFor: 'running' });
    clock.increment(1_000);
    await run.focusIs('up', 'decision');
    expect(run.view().focus).toMatchObject({ error: 'did not finish within 30s' });
    await run.settle(() => run.aborted.includes('up'));
  });

  it('cancel stops a running step and asks for a decision', async () => {
    const run = start({ restore: ['hang'] });
    await run.focusIs('part', 'approval');
    run.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: '/dev/sdb' });
    await run.focusIs('restore', 'running');
    run.send({ type: 'PAUSE', by: UPGRADER });
    expect(run.view().outcome).toBeNull();
    run.send({ type: 'CANCEL', stepId: 'restore', by: UPGRADER });
    await run.focusIs('restore', 'decision');
    expect(run.view().focus).toMatchObject({ error: 'cancelled by ana' });
    await run.settle(() => run.aborted.includes('restore'));
    run.send({ type: 'PAUSE', by: UPGRADER });
    expect(run.view().outcome).toBe('paused');
  });

  it('a failure in the fallback asks, and cannot fall back again', async () => {
    const run = start({ verify: [{ exitCode: 1 }], back: [{ exitCode: 5 }] });
    await approveAndConfirm(run);
    await run.focusIs('verify', 'decision');
    run.send({ type: 'FALLBACK', by: UPGRADER, reason: 'broken' });
    await run.focusIs('back', 'decision');
    run.send({ type: 'FALLBACK', by: UPGRADER, reason: 'again' });
    expect(run.view()).toMatchObject({ track: 'fallback', focus: { stepId: 'back', waitingFor: 'decision' } });
    run.send({ type: 'RETRY', stepId: 'back', by: UPGRADER });
    await run.settle(() => run.view().outcome === 'fell-back');
  });
});
