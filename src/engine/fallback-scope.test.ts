import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { parseRunbook } from '../runbook/load.js';
import { allSteps, type Step } from '../runbook/types.js';
import type { EngineEmitted, EngineEvent } from './events.js';
import { compileRunbook, type CommandResult } from './machine.js';
import { hostKeyPhaseOf, stepScopeLabel } from './fallback-scope.js';
import { whyNot } from './rules.js';
import { AttemptMayStillRunError } from './unsettled-attempt.js';
import { viewOf } from './view.js';

const UPGRADER = { role: 'upgrader' as const, name: 'ana' };

const head = `name: scoped fallback test
hosts:
  old: {}
  new: {}
phases:
  - name: prepare
    steps:
      - run: prepare
        host: old
        id: prep
  - name: swap
    steps:
      - run: ip addr add
        host: new
        id: add
        on_fail: fallback
      - run: verify
        host: new
        id: verify
`;
const phaseFallback = `    fallback:
      - run: ip addr del
        host: new
        id: del
      - local: tell the noc
        id: tell
`;
const outer = `fallback:
  - run: swap back
    host: old
    id: back
`;

type Script = Record<string, Array<CommandResult | Error | 'hang'>>;

function start(text: string, script: Script = {}) {
  const runbook = parseRunbook(text, 'rb.yaml');
  const steps = new Map(allSteps(runbook).map((step) => [step.id, step]));
  const stepOf = (id: string): Step => steps.get(id)!;
  const executed: string[] = [];
  const perform = async (step: Step, signal?: AbortSignal): Promise<CommandResult> => {
    executed.push(step.id);
    const next = script[step.id]?.shift();
    if (next === 'hang') {
      await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve()));
      return { exitCode: null, signal: 'TERM' };
    }
    if (next instanceof Error) throw next;
    return next ?? { exitCode: 0 };
  };
  const machine = compileRunbook(runbook).provide({
    actors: {
      runRemote: fromPromise(async ({ input, signal }) => perform(input.step, signal)),
      runLocal: fromPromise(async ({ input, signal }) => perform(input.step, signal)),
    },
  });
  const actor = createActor(machine);
  const emitted: EngineEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  const view = () => viewOf(actor.getSnapshot(), stepOf);
  const settle = (predicate: () => boolean) => waitFor(actor, () => predicate(), { timeout: 2000 });
  const ended = () => settle(() => view().outcome !== null);
  const send = (event: EngineEvent) => actor.send(event);
  const started = () => emitted.filter((event) => event.type === 'fallback.started');
  const refusals = () => emitted.filter((event) => event.type === 'step.refused').map((event) => (event as { reason: string }).reason);
  return { runbook, actor, executed, emitted, view, settle, ended, send, started, refusals };
}

describe('scoped fallbacks', () => {
  it('a failing step runs its phase fallback, innermost first, and the run ends fallen back without the outer one', async () => {
    const run = start(`${head}${phaseFallback}${outer}`, { add: [{ exitCode: 2 }] });
    await run.ended();
    expect(run.view().outcome).toBe('fell-back');
    expect(run.executed).toEqual(['prep', 'add', 'del', 'tell']);
    expect(run.started()).toEqual([
      expect.objectContaining({
        scope: 'swap',
        fromStepId: 'add',
        reason: 'step 2.1 failed and says on_fail: fallback',
        by: expect.objectContaining({ role: 'nightshift' }),
      }),
    ]);
    expect(run.actor.getSnapshot().context.steps['back']).toMatchObject({ status: 'pending' });
  });

  it('a failing phase fallback step goes on to the runbook fallback', async () => {
    const run = start(`${head}${phaseFallback}${outer}`, { add: [{ exitCode: 2 }], del: [new Error('Could not connect to new: refused')] });
    await run.ended();
    expect(run.view().outcome).toBe('fell-back');
    expect(run.executed).toEqual(['prep', 'add', 'del', 'back']);
    expect(run.started().map((event) => (event as { scope?: string | null }).scope)).toEqual(['swap', null]);
    expect(run.started()[1]).toMatchObject({ fromStepId: 'del', reason: "step 2.F1 of the fallback of phase swap failed: the runbook's fallback follows" });
  });

  it('fallback_then: outer goes on to the runbook fallback once the phase fallback is done', async () => {
    const run = start(`${head}${phaseFallback}    fallback_then: outer\n${outer}`, { add: [{ exitCode: 2 }] });
    await run.ended();
    expect(run.executed).toEqual(['prep', 'add', 'del', 'tell', 'back']);
    expect(run.started()[1]).toMatchObject({ scope: null, fromStepId: 'add', reason: 'the fallback of phase swap is done and says fallback_then: outer' });
    expect(run.view().outcome).toBe('fell-back');
  });

  it('FALLBACK by hand at a step of the phase runs its fallback; at a step of another phase the runbook one', async () => {
    const inSwap = start(`${head}${phaseFallback}${outer}`, { verify: [{ exitCode: 1 }] });
    await inSwap.settle(() => inSwap.view().focus?.waitingFor === 'decision');
    inSwap.send({ type: 'FALLBACK', by: UPGRADER, reason: 'routes look wrong' });
    await inSwap.ended();
    expect(inSwap.executed).toEqual(['prep', 'add', 'verify', 'del', 'tell']);
    expect(inSwap.started()).toEqual([expect.objectContaining({ scope: 'swap', fromStepId: 'verify', reason: 'routes look wrong', by: UPGRADER })]);

    const inPrepare = start(`${head}${phaseFallback}${outer}`, { prep: [{ exitCode: 1 }] });
    await inPrepare.settle(() => inPrepare.view().focus?.waitingFor === 'decision');
    inPrepare.send({ type: 'FALLBACK', by: UPGRADER, reason: 'not today' });
    await inPrepare.ended();
    expect(inPrepare.executed).toEqual(['prep', 'back']);
    expect(inPrepare.started()).toEqual([expect.objectContaining({ scope: null, fromStepId: 'prep' })]);
  });

  it('FALLBACK during a phase fallback escalates to the runbook fallback; during that one it is refused', async () => {
    const run = start(`${head}${phaseFallback}${outer}`, { add: [{ exitCode: 2 }], del: [new AttemptMayStillRunError('Lost new: no login within 600 s')] });
    await run.settle(() => run.view().focus?.stepId === 'del' && run.view().focus?.waitingFor === 'decision');
    expect(run.view()).toMatchObject({ track: 'fallback', scope: 'swap' });
    expect(whyNot(run.actor.getSnapshot(), run.runbook, { type: 'FALLBACK', by: UPGRADER })).toBeNull();
    run.send({ type: 'FALLBACK', by: UPGRADER, reason: 'the link is gone, swap everything back' });
    await run.settle(() => run.view().focus?.stepId === 'back' || run.view().outcome !== null);
    await run.ended();
    expect(run.executed).toEqual(['prep', 'add', 'del', 'back']);
    expect(run.started().map((event) => (event as { scope?: string | null }).scope)).toEqual(['swap', null]);

    const again = start(`${head}${phaseFallback}${outer}`, { add: [{ exitCode: 2 }], del: [{ exitCode: 1 }], back: [{ exitCode: 1 }] });
    await again.settle(() => again.view().focus?.stepId === 'back' && again.view().focus?.waitingFor === 'decision');
    expect(again.view()).toMatchObject({ track: 'fallback', scope: null });
    again.send({ type: 'FALLBACK', by: UPGRADER, reason: 'again' });
    expect(again.refusals()).toEqual(['the fallback is already running']);
  });

  it('without a runbook fallback: a failing phase fallback step asks, FALLBACK there is refused, and success ends fallen back', async () => {
    const failing = start(`${head}${phaseFallback}`, { add: [{ exitCode: 2 }], del: [{ exitCode: 1 }] });
    await failing.settle(() => failing.view().focus?.stepId === 'del' && failing.view().focus?.waitingFor === 'decision');
    failing.send({ type: 'FALLBACK', by: UPGRADER, reason: 'more' });
    expect(failing.refusals()).toEqual(['the fallback of phase swap is already running, and the runbook has no fallback of its own to go on to']);
    failing.send({ type: 'RETRY', stepId: 'del', by: UPGRADER });
    await failing.ended();
    expect(failing.view().outcome).toBe('fell-back');
    expect(failing.executed).toEqual(['prep', 'add', 'del', 'del', 'tell']);

    const inPrepare = start(`${head}${phaseFallback}`, { prep: [{ exitCode: 1 }] });
    await inPrepare.settle(() => inPrepare.view().focus?.waitingFor === 'decision');
    expect(whyNot(inPrepare.actor.getSnapshot(), inPrepare.runbook, { type: 'FALLBACK', by: UPGRADER })).toBe(
      "the phase of step prep has no fallback steps, and neither has the runbook; add 'fallback:' steps to the runbook, or to the phase",
    );
  });

  it('an attempt that may still run on an unreachable host asks the upgrader first; FALLBACK from there runs the phase fallback', async () => {
    const run = start(`${head}${phaseFallback}${outer}`, {
      add: [new AttemptMayStillRunError('Lost new: no login within 600 s after the link dropped (last: refused)')],
    });
    await run.settle(() => run.view().focus?.waitingFor === 'decision');
    expect(run.view().focus).toMatchObject({ stepId: 'add', attemptMayRun: 1 });
    expect(run.started()).toEqual([]);
    run.send({ type: 'FALLBACK', by: UPGRADER, reason: 'new is gone; undo what we can from here' });
    await run.ended();
    expect(run.executed).toEqual(['prep', 'add', 'del', 'tell']);
    expect(run.started()).toEqual([expect.objectContaining({ scope: 'swap', fromStepId: 'add' })]);
  });

  it('a detached step out of time (its host perhaps unreachable) may still run: the upgrader is asked, never a blind fallback', async () => {
    const text = `${head.replace('        on_fail: fallback\n', '        on_fail: fallback\n        timeout: 200ms\n')}${phaseFallback}${outer}`;
    const run = start(text, { add: ['hang'] });
    await run.settle(() => run.view().focus?.waitingFor === 'decision');
    expect(run.view().focus).toMatchObject({ stepId: 'add', attemptMayRun: 1, error: 'did not finish within 200ms' });
    expect(run.started()).toEqual([]);
    run.send({ type: 'FALLBACK', by: UPGRADER, reason: 'new does not answer' });
    await run.ended();
    expect(run.executed).toEqual(['prep', 'add', 'del', 'tell']);
    expect(run.started()).toEqual([expect.objectContaining({ scope: 'swap', fromStepId: 'add' })]);
  });

  it('an attached step out of time falls back to its phase fallback at once', async () => {
    const text = `${head.replace('        on_fail: fallback\n', '        on_fail: fallback\n        timeout: 200ms\n        attach: false\n')}${phaseFallback}${outer}`;
    const run = start(text, { add: ['hang'] });
    await run.ended();
    expect(run.executed).toEqual(['prep', 'add', 'del', 'tell']);
    expect(run.started()).toEqual([expect.objectContaining({ scope: 'swap', fromStepId: 'add' })]);
  });

  it('an unreachable host with on_fail: fallback runs the phase fallback at once', async () => {
    const run = start(`${head}${phaseFallback}${outer}`, { add: [new Error('Could not connect to new: connect ECONNREFUSED 127.0.0.1:1')] });
    await run.ended();
    expect(run.executed).toEqual(['prep', 'add', 'del', 'tell']);
    expect(run.started()).toEqual([expect.objectContaining({ scope: 'swap', fromStepId: 'add' })]);
  });

  it('a phase fallback step is named as such, and accepts every declared host key, as the runbook fallback does', () => {
    const runbook = parseRunbook(`${head}${phaseFallback}${outer}`, 'rb.yaml');
    const byId = new Map(allSteps(runbook).map((step) => [step.id, step]));
    expect(['add', 'del', 'back'].map((id) => stepScopeLabel(byId.get(id)!))).toEqual(['swap', 'swap fallback', 'fallback']);
    expect(['add', 'del', 'back'].map((id) => hostKeyPhaseOf(byId.get(id)!))).toEqual(['swap', null, null]);
  });
});
