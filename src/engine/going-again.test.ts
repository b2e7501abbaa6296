import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { parseRunbook } from '../runbook/load.js';
import type { Step } from '../runbook/types.js';
import type { EngineEmitted } from './events.js';
import { compileRunbook, type CommandResult, type CompileOptions } from './machine.js';
import type { ProbeResult } from './setup.js';
import { viewOf } from './view.js';

const source = `name: going again
hosts:
  dolphin: {}
phases:
  - name: prepare
    steps:
      - run: make-partitions
        host: dolphin
        id: part
      - note: half way
        id: half
  - name: swap
    steps:
      - run: move-address
        host: dolphin
        id: move
        check: ip addr show | grep -q 10.0.0.1
      - run: verify
        host: dolphin
        id: verify
        check: test -f /etc/verified
fallback:
  - run: swap back
    host: dolphin
    id: back
`;

type Probe = ProbeResult | Error;

/** A run whose commands exit 0 and whose probes answer as `probes` says (default: exit 1, not done). */
function start(options: CompileOptions, probes: Record<string, Probe> = {}, text = source) {
  const runbook = parseRunbook(text, 'rb.yaml');
  const ran: string[] = [];
  const probed: string[] = [];
  const machine = compileRunbook(runbook, options).provide({
    actors: {
      runRemote: fromPromise(async ({ input }) => {
        ran.push(input.step.id);
        return { exitCode: 0 };
      }),
      probeDone: fromPromise(async ({ input }): Promise<ProbeResult> => {
        probed.push(input.step.id);
        const answer = probes[input.step.id] ?? { exitCode: 1, output: '' };
        if (answer instanceof Error) throw answer;
        return answer;
      }),
    },
  });
  const actor = createActor(machine);
  const emitted: EngineEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  const stepOf = (id: string): Step => [...runbook.phases.flatMap((p) => p.steps), ...runbook.fallback].find((s) => s.id === id)!;
  const view = () => viewOf(actor.getSnapshot(), stepOf);
  const settle = (predicate: () => boolean) => waitFor(actor, () => predicate(), { timeout: 2000 });
  return { actor, emitted, ran, probed, view, settle };
}

describe('going again from a phase', () => {
  it('starts at the phase, the steps before it done by the earlier session, with its values', async () => {
    const run = start({ from: { phase: 'swap', session: '20261203-old', values: { root_uuid: 'abc' } } });
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('completed');
    expect(run.ran).toEqual(['move', 'verify']);
    const { steps, values } = run.actor.getSnapshot().context;
    expect(steps['part']).toMatchObject({ status: 'done', carriedFrom: '20261203-old', attempts: 0 });
    expect(steps['half']).toMatchObject({ status: 'done', carriedFrom: '20261203-old' });
    expect(steps['move']?.carriedFrom).toBeUndefined();
    expect(values).toEqual({ root_uuid: 'abc' });
    // Nothing of the earlier steps is told as if this run did it.
    expect(run.emitted.filter((event) => 'stepId' in event && (event.stepId === 'part' || event.stepId === 'half'))).toEqual([]);
  });

  it('without an earlier session, shows the steps before as not run, never as done', async () => {
    const run = start({ from: { phase: 'swap', session: null } });
    await run.settle(() => run.view().outcome !== null);
    expect(run.actor.getSnapshot().context.steps['part']).toMatchObject({ status: 'skipped', skipReason: 'not run: the run started at swap' });
    expect(run.actor.getSnapshot().context.steps['part']?.carriedFrom).toBeUndefined();
  });

  it('refuses a phase the runbook does not have, naming the phases it has', () => {
    const runbook = parseRunbook(source, 'rb.yaml');
    expect(() => compileRunbook(runbook, { from: { phase: 'swap\u001b[2J', session: null } })).toThrow(/has no phase .*its phases: prepare, swap/);
  });

  it('asks every check first: one that passes marks its step done with its output, without running it', async () => {
    const run = start({ from: { phase: 'swap', session: 'old' } }, { move: { exitCode: 0, output: '10.0.0.1/24\n' } });
    await run.settle(() => run.view().outcome !== null);
    expect(run.probed).toEqual(['move', 'verify']);
    expect(run.ran).toEqual(['verify']);
    expect(run.actor.getSnapshot().context.steps['move']).toMatchObject({ status: 'done', foundDone: true, exitCode: 0 });
    expect(run.emitted).toContainEqual(expect.objectContaining({ type: 'step.found-done', stepId: 'move', output: '10.0.0.1/24\n' }));
    expect(run.emitted.some((event) => event.type === 'step.started' && event.stepId === 'move')).toBe(false);
  });

  it('a check that cannot be asked fails the step (its host unreachable)', async () => {
    const run = start({ probeChecks: true }, { move: new Error('dolphin: connection refused') });
    await run.settle(() => run.view().focus?.stepId === 'move' && run.view().focus?.waitingFor === 'decision');
    expect(run.view().focus).toMatchObject({ error: 'dolphin: connection refused' });
    expect(run.ran).toEqual(['part']);
  });

  it('probing refuses every action, like checking', async () => {
    const runbook = parseRunbook(source, 'rb.yaml');
    const machine = compileRunbook(runbook, { probeChecks: true }).provide({
      actors: {
        runRemote: fromPromise(async (): Promise<CommandResult> => ({ exitCode: 0 })),
        probeDone: fromPromise(() => new Promise<ProbeResult>(() => {})),
      },
    });
    const actor = createActor(machine);
    const emitted: EngineEmitted[] = [];
    actor.on('*', (event) => emitted.push(event));
    actor.start();
    await waitFor(actor, (snapshot) => snapshot.hasTag('probing'), { timeout: 2000 });
    const by = { role: 'upgrader' as const, name: 'ana' };
    actor.send({ type: 'SKIP', stepId: 'move', by, reason: 'no' });
    actor.send({ type: 'CANCEL', stepId: 'move', by });
    actor.send({ type: 'MARK_DONE', stepId: 'move', by, reason: 'no' });
    expect(actor.getSnapshot().hasTag('probing')).toBe(true);
    expect(emitted.filter((event) => event.type === 'step.refused').map((event) => (event as { reason: string }).reason)).toEqual([
      'skip is not possible now: step move is being checked (already done?)',
      'cancel is not possible now: step move is being checked (already done?)',
      'mark done is not possible now: step move is being checked (already done?)',
    ]);
    actor.stop();
  });
});

describe('skip_done on a fresh run', () => {
  const text = source.replace('        check: test -f /etc/verified', '        check: test -f /etc/verified\n        skip_done: true');

  it('asks only the checks of steps that say skip_done', async () => {
    const run = start({}, { verify: { exitCode: 0, output: 'ok' } }, text);
    await run.settle(() => run.view().outcome !== null);
    expect(run.probed).toEqual(['verify']);
    expect(run.ran).toEqual(['part', 'move']);
  });

  it('a check that does not pass lets the step run as usual', async () => {
    const run = start({}, { verify: { exitCode: 1, output: '' } }, text);
    await run.settle(() => run.view().outcome !== null);
    expect(run.ran).toEqual(['part', 'move', 'verify']);
    expect(run.actor.getSnapshot().context.steps['verify']?.foundDone).toBeUndefined();
  });
});
