import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { parseRunbook } from '../runbook/load.js';
import { allSteps, type Step } from '../runbook/types.js';
import type { EngineEmitted, EngineEvent } from './events.js';
import { compileRunbook, type CommandResult } from './machine.js';
import { fleetViewsOf } from './fleet-view.js';
import { whyNot } from './rules.js';
import { viewOf } from './view.js';

const ANA = { role: 'upgrader' as const, name: 'ana' };

function runbookText(options: { hosts?: number; settings?: string; fallback?: boolean; onFail?: string; capture?: boolean } = {}) {
  const hosts = Array.from({ length: options.hosts ?? 4 }, (_, i) => `vm${i + 1}`);
  return `name: fleet test
groups:
  guests: [${hosts.join(', ')}]
templates:
  update:
    params: [guest]
    title: Update {{guest}}
    steps:
      - run: apt-get upgrade on {{guest}}
        host: "{{guest}}"${options.onFail ? `\n        on_fail: ${options.onFail}` : ''}${options.capture ? '\n        capture: kernel' : ''}
      - run: check {{guest}}${options.capture ? ' {{kernel}}' : ''}
        host: "{{guest}}"
${
  options.fallback
    ? `    fallback:
      - run: restore {{guest}}
        host: "{{guest}}"
`
    : ''
}phases:
  - name: before
    steps:
      - local: echo before
        id: before
  - name: update
    for_each: guests
    use: update
${options.settings ?? ''}
  - name: after
    steps:
      - local: echo after
        id: after
fallback:
  - local: tell the noc
    id: noc
`;
}

type Reply = CommandResult | Error | 'hold';

/** Remote and local commands answered by `reply` (by step id); 'hold' keeps one running until released. */
function start(text: string, reply: (step: Step, command: string) => Reply = () => ({ exitCode: 0 })) {
  const runbook = parseRunbook(text, 'rb.yaml');
  const steps = new Map(allSteps(runbook).map((step) => [step.id, step]));
  const stepOf = (id: string): Step => steps.get(id)!;
  const executed: string[] = [];
  const running = new Set<string>();
  let mostAtOnce = 0;
  const held = new Map<string, (result: CommandResult) => void>();
  const perform = async (step: Step): Promise<CommandResult> => {
    executed.push(step.id);
    running.add(step.id);
    mostAtOnce = Math.max(mostAtOnce, [...running].filter((id) => id.includes('@')).length);
    try {
      const answer = reply(step, 'command' in step ? step.command : '');
      if (answer === 'hold') return await new Promise<CommandResult>((resolve) => held.set(step.id, resolve));
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (answer instanceof Error) throw answer;
      return answer;
    } finally {
      running.delete(step.id);
    }
  };
  const machine = compileRunbook(runbook).provide({
    actors: {
      runRemote: fromPromise(async ({ input }) => perform(input.step)),
      runLocal: fromPromise(async ({ input }) => perform(input.step)),
    },
  });
  const actor = createActor(machine);
  const emitted: EngineEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  const view = () => viewOf(actor.getSnapshot(), stepOf);
  /** Polls: what the effects do (a held command) is not a change of the machine's snapshot. */
  const settle = async (predicate: () => boolean) => {
    const until = Date.now() + 3000;
    while (!predicate()) {
      if (Date.now() > until) throw new Error(`not settled: ${JSON.stringify(actor.getSnapshot().value)}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  const status = (id: string) => actor.getSnapshot().context.steps[id]?.status;
  const host = (name: string) => actor.getSnapshot().context.fleets?.['update']?.hosts[name];
  const of = <T extends EngineEmitted['type']>(type: T) => emitted.filter((event): event is Extract<EngineEmitted, { type: T }> => event.type === type);
  const send = (event: EngineEvent) => actor.send(event);
  const release = (id: string, result: CommandResult = { exitCode: 0 }) => {
    held.get(id)!(result);
    held.delete(id);
  };
  return { runbook, actor, executed, view, settle, status, host, of, send, release, held, mostAtOnce: () => mostAtOnce };
}

describe('a for_each phase', () => {
  it('runs the canary alone, waits at its checkpoint, then the rest in batches of serial, and goes on after the phase', async () => {
    const run = start(runbookText({ settings: '    canary: 1\n    serial: 2' }));
    await run.settle(() => run.status('update-canary') === 'waiting');
    expect(run.executed).toEqual(['before', 'update-1@vm1', 'update-2@vm1']);
    expect(run.view().focus).toMatchObject({ stepId: 'update-canary', waitingFor: 'confirmation' });
    run.send({ type: 'CONFIRM', stepId: 'update-canary', role: 'upgrader', by: ANA });
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('completed');
    expect(run.of('batch.started').map((event) => [event.batch, event.hosts, event.canary])).toEqual([
      [1, ['vm1'], true],
      [2, ['vm2', 'vm3'], false],
      [3, ['vm4'], false],
    ]);
    expect(run.of('host.finished').map((event) => `${event.host}:${event.outcome}`)).toEqual(['vm1:done', 'vm2:done', 'vm3:done', 'vm4:done']);
    expect(run.executed.at(-1)).toBe('after');
    // Every host ran each of its steps exactly once.
    for (const host of ['vm1', 'vm2', 'vm3', 'vm4'])
      expect(run.executed.filter((id) => id.endsWith(`@${host}`))).toEqual([`update-1@${host}`, `update-2@${host}`]);
  });

  it('runs the hosts of a batch at the same time, at most parallel at once', async () => {
    const run = start(runbookText({ hosts: 6, settings: '    parallel: 2' }), () => 'hold');
    await run.settle(() => run.held.has('before'));
    run.release('before');
    await run.settle(() => run.held.size === 2);
    expect([...run.held.keys()].sort()).toEqual(['update-1@vm1', 'update-1@vm2']);
    expect(run.host('vm3')?.outcome).toBe('queued');
    // A host's next step keeps its slot; a host that ends frees it.
    run.release('update-1@vm1');
    await run.settle(() => run.held.has('update-2@vm1'));
    expect(run.held.size).toBe(2);
    run.release('update-2@vm1');
    await run.settle(() => run.held.has('update-1@vm3'));
    while (run.held.size > 0) {
      const [id] = [...run.held.keys()];
      run.release(id!);
      await run.settle(() => !run.held.has(id!));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('completed');
    expect(run.mostAtOnce()).toBe(2);
  });

  it('a failed host waits for a decision while the others of its batch finish; skipping it halts the rollout past max_fail 0', async () => {
    const run = start(runbookText({ settings: '    serial: 2' }), (step) => (step.id === 'update-1@vm2' ? { exitCode: 100 } : { exitCode: 0 }));
    await run
      .settle(() => run.status('update-1@vm2') === 'failed' && run.host('vm1')?.outcome === 'done')
      .catch((e) => {
        console.log(JSON.stringify(run.actor.getSnapshot().value), run.executed, JSON.stringify(run.actor.getSnapshot().context.fleets));
        throw e;
      });
    expect(run.view().focus).toMatchObject({ stepId: 'update-1@vm2', waitingFor: 'decision' });
    // A retry for vm2's step is not refused by vm1's region (nor anyone's): it runs again.
    expect(whyNot(run.actor.getSnapshot(), run.runbook, { type: 'SKIP_HOST', phase: 'update', host: 'vm1', by: ANA })).toBe('vm1 is done');
    expect(whyNot(run.actor.getSnapshot(), run.runbook, { type: 'FALLBACK_HOST', phase: 'update', host: 'vm2', by: ANA })).toBe(
      'phase update has no fallback steps for a host to run',
    );
    run.send({ type: 'SKIP_HOST', phase: 'update', host: 'vm2', by: ANA, reason: '  mirror broken there  ' });
    await run.settle(() => run.status('update-halt-1') === 'waiting');
    expect(run.host('vm2')).toMatchObject({ outcome: 'skipped', reason: 'exited with status 100; mirror broken there' });
    expect(run.of('rollout.halted')).toEqual([
      expect.objectContaining({ phase: 'update', batch: 1, failed: ['vm2'], maxFail: 0, reason: '1 host failed (vm2), more than max_fail 0' }),
    ]);
    expect(run.of('decision').filter((event) => event.action === 'skip-host')).toEqual([
      expect.objectContaining({ stepId: 'update-1@vm2', host: 'vm2', reason: 'mirror broken there' }),
    ]);
    expect(run.host('vm3')?.outcome).toBe('queued');
    expect(run.of('step.refused')).toEqual([]);
    run.send({ type: 'CONFIRM', stepId: 'update-halt-1', role: 'upgrader', by: ANA });
    // Past the halt, vm2's failure is accepted: the rollout halts again only on a new one.
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('completed');
    expect(run.of('rollout.halted')).toHaveLength(1);
  });

  it('max_fail tolerates that many failed hosts', async () => {
    const run = start(runbookText({ settings: '    serial: 2\n    max_fail: 1' }), (step) => (step.id === 'update-1@vm1' ? { exitCode: 1 } : { exitCode: 0 }));
    await run.settle(() => run.status('update-1@vm1') === 'failed');
    run.send({ type: 'SKIP_HOST', phase: 'update', host: 'vm1', by: ANA, reason: 'later' });
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('completed');
    expect(run.of('rollout.halted')).toEqual([]);
    expect(run.of('batch.finished').map((event) => [event.batch, event.done, event.failed])).toEqual([
      [1, ['vm2'], ['vm1']],
      [2, ['vm3', 'vm4'], []],
    ]);
  });

  it("a retry of a host's failed step runs it again, and only there", async () => {
    let tries = 0;
    const run = start(runbookText({ settings: '    serial: 2' }), (step) => (step.id === 'update-1@vm1' && tries++ === 0 ? { exitCode: 1 } : { exitCode: 0 }));
    await run.settle(() => run.status('update-1@vm1') === 'failed' && run.host('vm2')?.outcome === 'done');
    run.send({ type: 'RETRY', stepId: 'update-1@vm1', by: ANA });
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('completed');
    expect(run.executed.filter((id) => id === 'update-1@vm1')).toHaveLength(2);
    expect(run.executed.filter((id) => id === 'update-1@vm2')).toHaveLength(1);
    expect(run.of('step.refused')).toEqual([]);
  });

  it('falls back one host with its own fallback; on_fail: fallback does it by itself', async () => {
    const run = start(runbookText({ settings: '    serial: 4\n    max_fail: 2', fallback: true, onFail: 'fallback' }), (step) =>
      step.id === 'update-1@vm3' ? { exitCode: 1 } : { exitCode: 0 },
    );
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('completed');
    expect(run.executed.filter((id) => id.includes('fallback'))).toEqual(['update-fallback-1@vm3']);
    expect(run.host('vm3')).toMatchObject({ outcome: 'fell-back', reason: 'step update-1@vm3 failed and says on_fail: fallback' });
  });

  it('FALLBACK_HOST by the upgrader, and the rollout stopped at a failed host rests at the halt; fall back all undoes every host that started', async () => {
    const run = start(runbookText({ settings: '    serial: 2', fallback: true }), (step) =>
      step.id === 'update-2@vm1' || step.id === 'update-2@vm2' ? { exitCode: 3 } : { exitCode: 0 },
    );
    await run.settle(() => run.status('update-2@vm1') === 'failed' && run.status('update-2@vm2') === 'failed');
    run.send({ type: 'FALLBACK_HOST', phase: 'update', host: 'vm1', by: ANA, reason: 'put it back' });
    await run.settle(() => run.host('vm1')?.outcome === 'fell-back');
    run.send({ type: 'STOP_ROLLOUT', phase: 'update', host: 'vm2', by: ANA, reason: 'look tomorrow' });
    await run.settle(() => run.status('update-halt-1') === 'waiting');
    expect(run.host('vm2')).toMatchObject({ outcome: 'failed' });
    expect(run.of('rollout.halted')[0]).toMatchObject({ reason: 'ana stopped the rollout: look tomorrow', failed: ['vm1', 'vm2'] });
    expect(fleetViewsOf(run.actor.getSnapshot().context, run.runbook)[0]).toMatchObject({ stopping: true, counts: { 'fell-back': 1, failed: 1, queued: 2 } });
    run.send({ type: 'FALLBACK', by: ANA, reason: 'all of it' });
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('fell-back');
    // vm1 fell back already; vm2 (left failed) falls back now; vm3 and vm4 never started. The phase has its own fallback: the runbook's does not run.
    expect(run.executed.filter((id) => id.includes('fallback'))).toEqual(['update-fallback-1@vm1', 'update-fallback-1@vm2']);
    expect(run.executed).not.toContain('noc');
    expect(run.of('fallback.started')).toEqual([expect.objectContaining({ scope: 'update', reason: 'all of it' })]);
  });

  it('each host captures its own value and its later steps use it', async () => {
    const seen: string[] = [];
    const run = start(runbookText({ hosts: 3, capture: true }), (step, command) => {
      seen.push(command);
      return step.id.startsWith('update-1@') ? { exitCode: 0, captured: `k-${step.instanceOf!.host}` } : { exitCode: 0 };
    });
    await run.settle(() => run.view().outcome !== null);
    expect(run.actor.getSnapshot().context.values).toMatchObject({ 'kernel@vm1': 'k-vm1', 'kernel@vm2': 'k-vm2', 'kernel@vm3': 'k-vm3' });
  });

  it('resumes from a snapshot saved in the middle of a batch: every host at its own step, each step once', async () => {
    const text = runbookText({ hosts: 3 });
    const first = start(text, (step) => (step.id === 'update-2@vm2' || step.id === 'update-1@vm3' ? 'hold' : { exitCode: 0 }));
    await first.settle(() => first.held.size === 2 && first.host('vm1')?.outcome === 'done');
    const saved = JSON.parse(JSON.stringify(first.actor.getPersistedSnapshot()));
    first.actor.stop();
    const runbook = parseRunbook(text, 'rb.yaml');
    const ran: string[] = [];
    const machine = compileRunbook(runbook).provide({
      actors: {
        runRemote: fromPromise(async ({ input }) => {
          ran.push(input.step.id);
          return { exitCode: 0 };
        }),
        runLocal: fromPromise(async ({ input }) => {
          ran.push(input.step.id);
          return { exitCode: 0 };
        }),
      },
    });
    const actor = createActor(machine, { snapshot: saved });
    actor.start();
    await waitFor(actor, (snapshot) => snapshot.status === 'done', { timeout: 3000 });
    expect(actor.getSnapshot().value).toBe('completed');
    // The two held steps run again (as a restored invoke does; the runner reattaches or asks instead), then what follows each.
    expect(ran.sort()).toEqual(['after', 'update-1@vm3', 'update-2@vm2', 'update-2@vm3'].sort());
  });

  it('asks a per: batch checkpoint once per batch, after every host of the batch got there, and a skipped host does not go on', async () => {
    const text = `name: batch checkpoint
groups:
  guests: [vm1, vm2, vm3, vm4]
phases:
  - name: update
    for_each: guests
    serial: 2
    max_fail: 1
    steps:
      - run: upgrade {{host}}
        host: "{{host}}"
      - checkpoint: the web pages of {{host}} look right
        per: batch
      - run: reboot {{host}}
        host: "{{host}}"
`;
    const run = start(text, (step) => (step.id === 'update-1@vm2' ? { exitCode: 1 } : { exitCode: 0 }));
    expect(
      run.runbook.phases[0]!.fleet!.batchCheckpoints.map((checkpoint) => [checkpoint.after, checkpoint.perBatch.map((step) => [step.id, step.title])]),
    ).toEqual([
      [
        1,
        [
          ['update-2@batch1', 'the web pages of vm1, vm2 look right'],
          ['update-2@batch2', 'the web pages of vm3, vm4 look right'],
        ],
      ],
    ]);
    await run.settle(() => run.status('update-1@vm2') === 'failed' && run.status('update-1@vm1') === 'done');
    expect(run.status('update-2@batch1')).toBe('pending');
    run.send({ type: 'SKIP_HOST', phase: 'update', host: 'vm2', by: ANA, reason: 'broken disk' });
    await run.settle(() => run.status('update-2@batch1') === 'waiting');
    expect(run.executed.filter((id) => id.startsWith('update-3'))).toEqual([]);
    run.send({ type: 'CONFIRM', stepId: 'update-2@batch1', role: 'upgrader', by: ANA });
    await run.settle(() => run.status('update-2@batch2') === 'waiting');
    expect(run.executed.filter((id) => id.startsWith('update-3'))).toEqual(['update-3@vm1']);
    run.send({ type: 'CONFIRM', stepId: 'update-2@batch2', role: 'upgrader', by: ANA });
    await run.settle(() => run.view().outcome !== null);
    expect(run.view().outcome).toBe('completed');
    expect(run.executed.filter((id) => id.startsWith('update-3')).sort()).toEqual(['update-3@vm1', 'update-3@vm3', 'update-3@vm4']);
    expect(run.of('host.started').map((event) => event.host)).toEqual(['vm1', 'vm2', 'vm3', 'vm4']);
    expect(run.of('host.finished').map((event) => `${event.host}:${event.outcome}`)).toEqual(['vm2:skipped', 'vm1:done', 'vm3:done', 'vm4:done']);
  });
});
