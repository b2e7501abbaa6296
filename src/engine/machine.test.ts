import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock, waitFor } from 'xstate';
import { parseRunbook } from '../runbook/load.js';
import type { RunStep, Step } from '../runbook/types.js';
import type { EngineEmitted, EngineEvent } from './events.js';
import { compileRunbook, type CommandResult } from './machine.js';
import { AttemptMayStillRunError, type AttemptState } from './unsettled-attempt.js';
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

/** Starts `machine` with a record of what it emits, its view, and a wait for a predicate (2 s at most). */
function watch(machine: ReturnType<typeof compileRunbook>, stepOf: (id: string) => Step, clock?: SimulatedClock) {
  const actor = createActor(machine, clock ? { clock } : {});
  const emitted: EngineEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  const view = () => viewOf(actor.getSnapshot(), stepOf);
  const settle = (predicate: () => boolean) => waitFor(actor, () => predicate(), { timeout: 2000 });
  return { actor, emitted, view, settle };
}

/** Each command's results, consumed in order; a missing entry exits 0. */
type Script = Record<string, Array<CommandResult | Error | 'hang'>>;

function start(script: Script = {}, text = source, clock?: SimulatedClock) {
  const runbook = parseRunbook(text, 'rb.yaml');
  const stepOf = (id: string): Step => [...runbook.phases.flatMap((p) => p.steps), ...runbook.fallback].find((s) => s.id === id)!;
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
  const { actor, emitted, view, settle } = watch(machine, stepOf, clock);
  const send = (event: EngineEvent) => actor.send(event);
  const focusIs = (stepId: string, waitingFor: string) => settle(() => view().focus?.stepId === stepId && view().focus?.waitingFor === waitingFor);
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
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'fallback.started', reason: 'routing table wrong', fromStepId: 'verify' }));
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
    expect(run.view().focus).toMatchObject({ error: 'SSH on dolphin did not answer within 30s' });
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

describe('a reboot past its bound, put to the sentinel', () => {
  const rebootSource = `name: reboot test
hosts:
  dolphin: {}
phases:
  - name: boot
    steps:
      - reboot: dolphin
        id: boot
      - run: verify
        host: dolphin
        id: verify
`;
  const OBSERVER = { role: 'observer' as const, name: 'kim' };
  const REQUEST = 'dolphin did not come back: power-cycle it';

  function startReboot() {
    const runbook = parseRunbook(rebootSource, 'rb.yaml');
    const stepOf = (id: string): Step => runbook.phases.flatMap((p) => p.steps).find((s) => s.id === id)!;
    let reboots = 0;
    const machine = compileRunbook(runbook).provide({
      actors: {
        runRemote: fromPromise(async (): Promise<CommandResult> => ({ exitCode: 0 })),
        reboot: fromPromise(async () => {
          reboots++;
          if (reboots === 1) throw new Error('dolphin did not come back');
        }),
      },
    });
    const { actor, emitted, view, settle } = watch(machine, stepOf);
    return { actor, emitted, view, settle, reboots: () => reboots };
  }

  it('asks the sentinel, whose /ok goes back to waiting for the host; an observer cannot answer', async () => {
    const run = startReboot();
    await run.settle(() => run.view().focus?.waitingFor === 'decision');
    run.actor.send({ type: 'ASK_SITE', stepId: 'boot', by: UPGRADER, request: REQUEST });
    expect(run.view().focus).toEqual({ stepId: 'boot', waitingFor: 'confirmation', roles: ['sentinel'], request: REQUEST });
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'decision', stepId: 'boot', action: 'ask-site', reason: REQUEST }));
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'step.waiting', stepId: 'boot', for: 'confirmation', roles: ['sentinel'] }));

    run.actor.send({ type: 'CONFIRM', stepId: 'boot', role: 'sentinel', by: OBSERVER });
    expect(run.emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: expect.stringMatching(/observer only watches/) });
    run.actor.send({ type: 'CONFIRM', stepId: 'boot', role: 'upgrader', by: UPGRADER });
    expect(run.emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: 'this request is for the sentinel, not the upgrader' });

    run.actor.send({ type: 'CONFIRM', stepId: 'boot', role: 'sentinel', by: SENTINEL });
    await run.settle(() => run.view().outcome === 'completed');
    expect(run.reboots()).toBe(2);
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'step.confirmed', stepId: 'boot', role: 'sentinel', relayed: false }));
    expect(run.actor.getSnapshot().context.steps['boot']).toMatchObject({ status: 'done', attempts: 2, asked: undefined });
  });

  it('the upgrader may relay the answer, or stop waiting for it and keep waiting for the host', async () => {
    const relayed = startReboot();
    await relayed.settle(() => relayed.view().focus?.waitingFor === 'decision');
    relayed.actor.send({ type: 'ASK_SITE', stepId: 'boot', by: UPGRADER, request: REQUEST });
    relayed.actor.send({ type: 'CONFIRM', stepId: 'boot', role: 'sentinel', by: UPGRADER });
    await relayed.settle(() => relayed.view().outcome === 'completed');
    expect(relayed.emitted).toContainEqual(expect.objectContaining({ type: 'step.confirmed', role: 'sentinel', relayed: true }));

    const retried = startReboot();
    await retried.settle(() => retried.view().focus?.waitingFor === 'decision');
    retried.actor.send({ type: 'ASK_SITE', stepId: 'boot', by: UPGRADER, request: REQUEST });
    retried.actor.send({ type: 'RETRY', stepId: 'boot', by: UPGRADER });
    await retried.settle(() => retried.view().outcome === 'completed');
    expect(retried.reboots()).toBe(2);
  });

  it('is refused without a request, and for a step that is not a reboot', async () => {
    const run = startReboot();
    await run.settle(() => run.view().focus?.waitingFor === 'decision');
    run.actor.send({ type: 'ASK_SITE', stepId: 'boot', by: UPGRADER, request: '  ' });
    expect(run.emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: 'say what the sentinel should do' });
    expect(run.view().focus?.waitingFor).toBe('decision');

    const other = start({ restore: [{ exitCode: 2 }] });
    await other.focusIs('part', 'approval');
    other.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: '/dev/sdb' });
    await other.focusIs('restore', 'decision');
    other.send({ type: 'ASK_SITE', stepId: 'restore', by: UPGRADER, request: REQUEST });
    expect(other.emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: 'only a reboot that did not come back can be put to the site' });
  });
});

describe('steps that need hands on site', () => {
  const handsSource = `name: hands test
hosts:
  dragon: {}
  dolphin: {}
phases:
  - name: cutover
    steps:
      - run: prepare
        host: dolphin
        id: prepare
      - run: plug-modem
        host: dragon
        id: plug
        needs: hands
      - run: wipe
        host: dragon
        id: wipe
        destructive: dragon
        needs: hands
      - checkpoint: the lights are green
        id: lights
        by: sentinel
        needs: hands
fallback:
  - run: swap back
    host: dragon
    id: back
`;
  const MIA = { role: 'sentinel' as const, name: 'mia' };

  it('holds the step while no sentinel is present, and releases it when hands become available', async () => {
    const run = start({}, handsSource);
    await run.focusIs('plug', 'hands');
    expect(run.view().focus).toEqual({ stepId: 'plug', waitingFor: 'hands', why: 'no sentinel has joined' });
    expect(run.executed).toEqual(['prepare']);
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'step.held', stepId: 'plug', why: 'no sentinel has joined' }));
    expect(run.actor.getSnapshot().context.steps['plug']).toMatchObject({ status: 'waiting', attempts: 0 });
    // A change of reason keeps it held and shows the new reason.
    run.send({ type: 'HANDS', available: false, why: 'the sentinel is away' });
    expect(run.view().focus).toEqual({ stepId: 'plug', waitingFor: 'hands', why: 'the sentinel is away' });
    run.send({ type: 'HANDS', available: true, why: 'mia is on site' });
    await run.settle(() => run.executed.includes('plug'));
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'step.released', stepId: 'plug' }));
    // A held destructive step still asks for its typed text once released (hands are still there).
    await run.focusIs('wipe', 'approval');
    expect(run.emitted.filter((event) => event.type === 'step.held')).toHaveLength(1);
  });

  it('does not hold a step when hands are available at entry', async () => {
    const run = start({ prepare: ['hang'] }, handsSource);
    await run.focusIs('prepare', 'running');
    run.send({ type: 'HANDS', available: true, why: 'mia is on site' });
    run.send({ type: 'CANCEL', stepId: 'prepare', by: UPGRADER });
    await run.focusIs('prepare', 'decision');
    run.send({ type: 'SKIP', stepId: 'prepare', by: UPGRADER, reason: 'prepared by hand' });
    await run.focusIs('wipe', 'approval');
    expect(run.executed).toContain('plug');
    expect(run.emitted.some((event) => event.type === 'step.held')).toBe(false);
  });

  it('a held destructive step goes to approval after release', async () => {
    const run = start({}, handsSource);
    await run.focusIs('plug', 'hands');
    run.send({ type: 'OVERRIDE_HOLD', stepId: 'plug', by: UPGRADER, reason: 'the modem is already plugged in' });
    await run.focusIs('wipe', 'hands');
    expect(run.executed).toEqual(['prepare', 'plug']);
    run.send({ type: 'HANDS', available: true, why: 'mia is on site' });
    await run.focusIs('wipe', 'approval');
    expect(run.executed).toEqual(['prepare', 'plug']);
    run.send({ type: 'APPROVE', stepId: 'wipe', by: UPGRADER, value: 'dragon' });
    await run.focusIs('lights', 'confirmation');
    expect(run.executed).toEqual(['prepare', 'plug', 'wipe']);
  });

  it('the upgrader may go on without hands, with a reason, which is journaled as a decision', async () => {
    const run = start({}, handsSource);
    await run.focusIs('plug', 'hands');
    run.send({ type: 'OVERRIDE_HOLD', stepId: 'plug', by: UPGRADER, reason: '   ' });
    expect(run.view().focus).toMatchObject({ stepId: 'plug', waitingFor: 'hands' });
    expect(run.emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: 'going on without hands on site needs a reason' });
    run.send({ type: 'OVERRIDE_HOLD', stepId: 'plug', by: { role: 'observer', name: 'olaf' }, reason: 'why not' });
    expect(run.emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: 'only the upgrader can go on without hands on site' });
    run.send({ type: 'OVERRIDE_HOLD', stepId: 'wipe', by: UPGRADER, reason: 'later' });
    expect(run.view().focus).toMatchObject({ stepId: 'plug', waitingFor: 'hands' });
    expect(run.executed).toEqual(['prepare']);
    run.send({ type: 'OVERRIDE_HOLD', stepId: 'plug', by: UPGRADER, reason: 'the modem is already plugged in' });
    await run.focusIs('wipe', 'hands');
    expect(run.executed).toEqual(['prepare', 'plug']);
    expect(run.emitted).toContainEqual(
      expect.objectContaining({ type: 'decision', stepId: 'plug', action: 'override', by: UPGRADER, reason: 'the modem is already plugged in' }),
    );
    expect(run.emitted.some((event) => event.type === 'step.released')).toBe(false);
  });

  it('while held, fall back and pause still work', async () => {
    const run = start({}, handsSource);
    await run.focusIs('plug', 'hands');
    run.send({ type: 'FALLBACK', by: UPGRADER, reason: 'nobody can get to the site tonight' });
    await run.settle(() => run.view().outcome === 'fell-back');
    expect(run.executed).toEqual(['prepare', 'back']);

    const paused = start({}, handsSource);
    await paused.focusIs('plug', 'hands');
    paused.send({ type: 'PAUSE', by: UPGRADER });
    expect(paused.view().outcome).toBe('paused');
  });

  it('holds a checkpoint that needs hands; a sentinel confirms it, an observer cannot', async () => {
    const run = start({}, handsSource);
    await run.focusIs('plug', 'hands');
    run.send({ type: 'HANDS', available: true, why: 'mia is on site' });
    await run.focusIs('wipe', 'approval');
    run.send({ type: 'HANDS', available: false, why: 'the sentinel is away' });
    run.send({ type: 'APPROVE', stepId: 'wipe', by: UPGRADER, value: 'dragon' });
    await run.focusIs('lights', 'hands');
    expect(run.view().focus).toMatchObject({ why: 'the sentinel is away' });
    run.send({ type: 'HANDS', available: true, why: 'mia is back' });
    await run.focusIs('lights', 'confirmation');
    run.send({ type: 'CONFIRM', stepId: 'lights', role: 'sentinel', by: { role: 'observer', name: 'olaf' } });
    expect(run.emitted.at(-1)).toMatchObject({
      type: 'step.refused',
      by: { role: 'observer', name: 'olaf' },
      reason: 'an observer only watches: only the sentinel can confirm for the sentinel',
    });
    expect(run.view().focus).toMatchObject({ stepId: 'lights', waitingFor: 'confirmation' });
    run.send({ type: 'CONFIRM', stepId: 'lights', role: 'sentinel', by: MIA });
    await run.settle(() => run.view().outcome === 'completed');
  });
});

describe('who may confirm a checkpoint', () => {
  const bySentinel = `name: roles test
phases:
  - name: site
    steps:
      - checkpoint: the modem is in the new dragon
        id: modem
        by: sentinel
`;
  const MIA = { role: 'sentinel' as const, name: 'mia' };

  function checkpoint(relaysAllowed: boolean) {
    const actor = createActor(compileRunbook(parseRunbook(bySentinel, 'rb.yaml'), { relaysAllowed })).start();
    const refusals: string[] = [];
    actor.on('step.refused', (event) => refusals.push(event.reason));
    return { actor, refusals };
  }

  it('the sentinel confirms for the sentinel', () => {
    const { actor, refusals } = checkpoint(true);
    actor.send({ type: 'CONFIRM', stepId: 'modem', role: 'sentinel', by: MIA });
    expect(refusals).toEqual([]);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().context.steps['modem']!.confirmations).toEqual([expect.objectContaining({ role: 'sentinel', by: MIA, relayed: false })]);
  });

  it('an observer is refused, even naming the sentinel role', () => {
    const { actor, refusals } = checkpoint(true);
    actor.send({ type: 'CONFIRM', stepId: 'modem', role: 'sentinel', by: { role: 'observer', name: 'mia' } });
    expect(refusals).toEqual(['an observer only watches: only the sentinel can confirm for the sentinel']);
    expect(actor.getSnapshot().context.steps['modem']).toMatchObject({ status: 'waiting', confirmations: [] });
  });

  it('with relays off, the upgrader cannot confirm for the sentinel', () => {
    const { actor, refusals } = checkpoint(false);
    actor.send({ type: 'CONFIRM', stepId: 'modem', role: 'sentinel', by: UPGRADER });
    expect(refusals).toEqual(['only the sentinel can confirm for the sentinel']);
    expect(actor.getSnapshot().status).toBe('active');
  });
});

describe('a detached attempt that may still run on its host', () => {
  const detachedSource = `name: unsettled test
hosts:
  dolphin: {}
phases:
  - name: restore
    steps:
      - run: restore-root
        host: dolphin
        id: restore
        on_fail: fallback
      - run: verify
        host: dolphin
        id: verify
fallback:
  - run: swap back
    host: dolphin
    id: back
`;

  /** `results`: what each run of restore does (a follow included); `found`: what each look at the host says, in order. */
  function startUnsettled(results: Array<CommandResult | Error>, found: Array<AttemptState | Error>) {
    const runbook = parseRunbook(detachedSource, 'rb.yaml');
    const stepOf = (id: string): Step => [...runbook.phases.flatMap((p) => p.steps), ...runbook.fallback].find((s) => s.id === id)!;
    const runs: Array<{ stepId: string; follow: boolean }> = [];
    const looks: Array<{ kind: 'check' | 'stop'; attempt: number }> = [];
    const look = (kind: 'check' | 'stop') =>
      fromPromise(async ({ input }: { input: { step: RunStep; attempt: number } }): Promise<AttemptState> => {
        looks.push({ kind, attempt: input.attempt });
        const next = found.shift() ?? new Error('no answer scripted');
        if (next instanceof Error) throw next;
        return next;
      });
    const machine = compileRunbook(runbook).provide({
      actors: {
        runRemote: fromPromise(async ({ input }): Promise<CommandResult> => {
          runs.push({ stepId: input.step.id, follow: input.follow === true });
          if (input.step.id !== 'restore') return { exitCode: 0 };
          const next = results.shift() ?? { exitCode: 0 };
          if (next instanceof Error) throw next;
          return next;
        }),
        checkAttempt: look('check'),
        stopAttempt: look('stop'),
      },
    });
    const { actor, emitted, view, settle } = watch(machine, stepOf);
    const decisionAsked = () => settle(() => view().focus?.waitingFor === 'decision');
    const refusals = () => emitted.filter((event) => event.type === 'step.refused').map((event) => (event as { reason: string }).reason);
    return { actor, emitted, view, settle, decisionAsked, refusals, runs, looks };
  }

  const lost = () => new AttemptMayStillRunError('Lost dolphin: no login within 600 s after the link dropped (last: refused)');

  it('a lost link asks the upgrader whatever on_fail says, knowing the attempt may still run', async () => {
    const run = startUnsettled([lost()], []);
    await run.decisionAsked();
    expect(run.view().focus).toMatchObject({ stepId: 'restore', waitingFor: 'decision', attemptMayRun: 1, error: expect.stringMatching(/^Lost dolphin/) });
    expect(run.emitted.map((event) => event.type)).not.toContain('fallback.started');
    expect(run.actor.getSnapshot().context.steps['restore']).toMatchObject({ status: 'failed', attempts: 1, mayStillRun: 1 });
  });

  it('retry asks the host first: refused while the attempt runs or cannot be asked, a new attempt once it has ended', async () => {
    const run = startUnsettled(
      [lost(), { exitCode: 0 }],
      [new Error('Could not connect to dolphin: refused'), { state: 'running', pid: 4242 }, { state: 'ended', exitCode: 0 }],
    );
    await run.decisionAsked();
    run.actor.send({ type: 'RETRY', stepId: 'restore', by: UPGRADER });
    await run.settle(() => run.refusals().length === 1);
    expect(run.refusals()[0]).toMatch(/^attempt 1 may still be running on dolphin, which cannot be reached to tell \(Could not connect to dolphin: refused\)/);
    expect(run.view().focus).toMatchObject({ waitingFor: 'decision', attemptMayRun: 1 });

    run.actor.send({ type: 'RETRY', stepId: 'restore', by: UPGRADER });
    await run.settle(() => run.refusals().length === 2);
    expect(run.refusals()[1]).toBe('attempt 1 is still running on dolphin (pid 4242): reattach to follow it, or stop it first');
    expect(run.runs.filter((entry) => entry.stepId === 'restore')).toHaveLength(1);

    run.actor.send({ type: 'RETRY', stepId: 'restore', by: UPGRADER });
    await run.settle(() => run.view().outcome === 'completed');
    expect(run.looks).toEqual([
      { kind: 'check', attempt: 1 },
      { kind: 'check', attempt: 1 },
      { kind: 'check', attempt: 1 },
    ]);
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'attempt.checked', stepId: 'restore', attempt: 1, state: 'unreachable' }));
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'attempt.checked', stepId: 'restore', attempt: 1, state: 'running', pid: 4242 }));
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'step.started', stepId: 'restore', attempt: 2 }));
    expect(run.emitted.filter((event) => event.type === 'decision' && event.action === 'retry')).toHaveLength(1);
  });

  it('reattach follows the same attempt again; stop ends it, after which a retry starts attempt 2 without asking the host', async () => {
    const run = startUnsettled([lost(), lost(), { exitCode: 0 }], [{ state: 'ended', exitCode: 143 }]);
    await run.decisionAsked();
    run.actor.send({ type: 'REATTACH', stepId: 'restore', by: UPGRADER });
    await run.settle(() => run.runs.length === 2 && run.view().focus?.waitingFor === 'decision');
    expect(run.runs[1]).toEqual({ stepId: 'restore', follow: true });
    expect(run.actor.getSnapshot().context.steps['restore']).toMatchObject({ attempts: 1, mayStillRun: 1 });
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'decision', action: 'reattach', attempt: 1 }));

    run.actor.send({ type: 'STOP_ATTEMPT', stepId: 'restore', by: UPGRADER });
    await run.settle(() => run.view().focus?.waitingFor === 'decision' && run.actor.getSnapshot().context.steps['restore']!.mayStillRun === undefined);
    expect(run.view().focus).toMatchObject({ error: expect.stringMatching(/; then attempt 1 was stopped: it ended with exit status 143$/) });
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'decision', action: 'stop', attempt: 1 }));
    run.actor.send({ type: 'REATTACH', stepId: 'restore', by: UPGRADER });
    expect(run.refusals().at(-1)).toMatch(/no attempt of this step may still be running/);

    run.actor.send({ type: 'RETRY', stepId: 'restore', by: UPGRADER });
    await run.settle(() => run.view().outcome === 'completed');
    expect(run.looks).toEqual([{ kind: 'stop', attempt: 1 }]);
    expect(run.actor.getSnapshot().context.steps['restore']).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('a failure of an attempt the upgrader asked for comes back to them, not to on_fail: fallback', async () => {
    const run = startUnsettled([lost(), new Error('Could not connect to dolphin: refused')], [{ state: 'never-started' }]);
    await run.decisionAsked();
    run.actor.send({ type: 'RETRY', stepId: 'restore', by: UPGRADER });
    await run.settle(() => run.actor.getSnapshot().context.steps['restore']!.attempts === 2 && run.view().focus?.waitingFor === 'decision');
    expect(run.emitted.map((event) => event.type)).not.toContain('fallback.started');
    expect(run.view().focus).toMatchObject({ error: 'Could not connect to dolphin: refused' });
    expect(run.view().focus).not.toHaveProperty('attemptMayRun');
  });

  it('a step with revert_after is not followed again: its revert timer decides', async () => {
    const runbook = parseRunbook(
      `name: revert test\nhosts:\n  dolphin: {}\nphases:\n  - name: net\n    steps:\n      - run: ip addr add\n        host: dolphin\n        id: net\n        revert_after: 2m\n        revert: ip addr del\n`,
      'rb.yaml',
    );
    const machine = compileRunbook(runbook).provide({
      actors: { runRemote: fromPromise(async (): Promise<CommandResult> => Promise.reject(lost())) },
    });
    const actor = createActor(machine);
    const emitted: EngineEmitted[] = [];
    actor.on('*', (event) => emitted.push(event));
    actor.start();
    await waitFor(actor, (snapshot) => snapshot.context.steps['net']!.mayStillRun === 1);
    actor.send({ type: 'REATTACH', stepId: 'net', by: UPGRADER });
    expect(emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: expect.stringMatching(/^a step with revert_after is not followed again/) });
    expect(actor.getSnapshot().context.steps['net']).toMatchObject({ status: 'failed', mayStillRun: 1 });
  });

  it('a plain failure of the first attempt still follows on_fail: fallback', async () => {
    const run = startUnsettled([new Error('Cannot reach dolphin: no login within 600 s of trying')], []);
    await run.settle(() => run.view().track === 'fallback');
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'fallback.started', fromStepId: 'restore' }));
  });
});

describe("a large runbook's machine", () => {
  type Node = { transitions: Map<string, unknown[]>; states: Record<string, Node> };
  const transitionsOf = (node: Node): number =>
    [...node.transitions.values()].reduce((sum, list) => sum + list.length, 0) +
    Object.values(node.states).reduce((sum, child) => sum + transitionsOf(child), 0);
  const machineOf = (steps: number) =>
    compileRunbook(
      parseRunbook(`name: many\nhosts:\n  h: {}\nphases:\n  - name: one\n    steps:\n${'      - run: "true"\n        host: h\n'.repeat(steps)}`, 'many.yaml'),
    );

  it('grows by the transitions each step takes, not by a refusal of every action in every state', () => {
    // The refusals are the machine's, once: what a step adds is what its states do.
    const perStep = (transitionsOf(machineOf(200).root as unknown as Node) - transitionsOf(machineOf(100).root as unknown as Node)) / 100;
    expect(perStep).toBeGreaterThan(3);
    expect(perStep).toBeLessThan(30);
  });

  it('refuses, where the run rests, an action its state does not take or whose guard says no', async () => {
    const run = start({ part: ['hang'] });
    await run.focusIs('part', 'approval');
    run.send({ type: 'RETRY', stepId: 'part', by: UPGRADER });
    expect(run.emitted.at(-1)).toMatchObject({ type: 'step.refused', action: 'RETRY', stepId: 'part', reason: expect.stringContaining('step part') });
    run.send({ type: 'APPROVE', stepId: 'part', by: UPGRADER, value: '/dev/sdb' });
    await run.settle(() => run.executed.includes('part'));
    run.send({ type: 'CANCEL', stepId: 'part', by: UPGRADER });
    await run.focusIs('part', 'decision');
    // SKIP is the failed state's own action: without a reason its guard says no.
    run.send({ type: 'SKIP', stepId: 'part', by: UPGRADER, reason: ' ' });
    expect(run.emitted.at(-1)).toMatchObject({ type: 'step.refused', action: 'SKIP', stepId: 'part', reason: expect.stringMatching(/reason/) });
    run.send({ type: 'APPROVE', stepId: 'restore', by: UPGRADER, value: 'x' });
    expect(run.emitted.at(-1)).toMatchObject({ type: 'step.refused', action: 'APPROVE', stepId: 'part' });
    expect(run.view().focus).toMatchObject({ stepId: 'part' });
  });
});
