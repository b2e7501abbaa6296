import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { evaluate, hostsOf, skipReason } from '../runbook/condition.js';
import { parseRunbook } from '../runbook/load.js';
import { allSteps, type HostFacts, type Step } from '../runbook/types.js';
import type { EngineEmitted } from './events.js';
import { compileRunbook, type CommandResult } from './machine.js';
import { positionOf } from './rules.js';
import type { WhenDecision } from './setup.js';

const UPGRADER = { role: 'upgrader' as const, name: 'ana' };

const FACTS: Record<string, HostFacts> = {
  old: { systemd: false, cpus: 1, distro: 'alpine', distro_like: '', distro_version: '3.19', kernel: '6.6.1', arch: 'x86_64' },
  new: { systemd: true, cpus: 4, distro: 'debian', distro_like: '', distro_version: '12', kernel: '6.1.0-18-amd64', arch: 'x86_64' },
};

const source = `name: when test
hosts:
  old: {}
  new: {}
vars:
  swap_mode: dual
phases:
  - name: prepare
    steps:
      - run: daemon-reload
        host: new
        id: reload
        when: new.systemd
      - run: rc-update
        host: old
        id: openrc
        when: not host.systemd
      - run: grub-install
        host: old
        id: grub
        when: old.distro == "debian" and old.cpus >= 2
      - checkpoint: look at the console
        id: look
        when: swap_mode == "single"
      - reboot: old
        id: boot
        when: old.systemd
      - upload: files/a.conf
        to: /etc/
        host: old
        id: conf
        when: old.systemd
      - note: only on systemd
        id: say
        when: old.systemd
  - name: tail
    when: swap_mode == "dual"
    steps:
      - local: echo done
        id: last
        when: new.kernel =~ "^6\\\\."
`;

function start(options: { unreachable?: string[]; text?: string; facts?: Record<string, HostFacts> } = {}) {
  const runbook = parseRunbook(options.text ?? source, 'rb.yaml');
  const executed: string[] = [];
  const decided: string[] = [];
  const unreachable = new Set(options.unreachable ?? []);
  const ran = async ({ input }: { input: { step: Step } }): Promise<CommandResult> => {
    executed.push(input.step.id);
    return { exitCode: 0 };
  };
  const machine = compileRunbook(runbook).provide({
    actors: {
      runRemote: fromPromise(ran),
      runLocal: fromPromise(ran),
      reboot: fromPromise(async ({ input }) => void executed.push(input.step.id)),
      upload: fromPromise(async ({ input }) => void executed.push(input.step.id)),
      decideWhen: fromPromise<WhenDecision, { step: Step; values: Record<string, string> }>(async ({ input }) => {
        decided.push(input.step.id);
        for (const condition of input.step.when ?? []) {
          const down = hostsOf(condition.expr).find((host) => unreachable.has(host));
          if (down) throw new Error(`could not read the facts of ${down}: no route to host`);
          const result = evaluate(condition.expr, { values: { ...runbook.vars, ...input.values }, facts: options.facts ?? FACTS });
          if (!result.holds) return { holds: false, reason: skipReason(condition.text, result.found) };
        }
        return { holds: true, reason: '' };
      }),
    },
  });
  const actor = createActor(machine);
  const emitted: EngineEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  const settle = (predicate: () => boolean) => waitFor(actor, predicate, { timeout: 2000 });
  return { actor, runbook, executed, decided, emitted, settle, unreachable };
}

describe('when: conditions in the engine', () => {
  it('runs a step whose condition holds, and skips the others with the condition and what was found', async () => {
    const run = start();
    await run.settle(() => run.actor.getSnapshot().status === 'done');
    expect(run.executed).toEqual(['reload', 'openrc', 'last']);
    const skipped = run.emitted.filter((event) => event.type === 'step.skipped');
    expect(skipped.map((event) => [event.stepId, event.by.role, event.reason])).toEqual([
      ['grub', 'nightshift', 'when old.distro == "debian" and old.cpus >= 2 (old.distro is "alpine")'],
      ['look', 'nightshift', 'when swap_mode == "single" (swap_mode is "dual")'],
      ['boot', 'nightshift', 'when old.systemd (old.systemd is false)'],
      ['conf', 'nightshift', 'when old.systemd (old.systemd is false)'],
      ['say', 'nightshift', 'when old.systemd (old.systemd is false)'],
    ]);
    const steps = run.actor.getSnapshot().context.steps;
    expect(steps['boot']).toMatchObject({ status: 'skipped', skipReason: 'when old.systemd (old.systemd is false)', attempts: 0 });
    expect(steps['say']!.status).toBe('skipped');
    expect(run.emitted.at(-1)).toMatchObject({ type: 'run.finished', outcome: 'completed' });
    // A skipped step never started: no step.started for it.
    expect(run.emitted.filter((event) => event.type === 'step.started').map((event) => event.stepId)).toEqual(['reload', 'openrc', 'last']);
  });

  it('a checkpoint, a reboot, an upload and a note whose condition holds go on as they would without it', async () => {
    const run = start({ facts: { ...FACTS, old: { ...FACTS['old']!, systemd: true } } });
    await run.settle(() => run.actor.getSnapshot().context.steps['look']!.status === 'skipped');
    await run.settle(() => run.actor.getSnapshot().context.steps['boot']!.status !== 'pending');
    await run.settle(() => run.actor.getSnapshot().status === 'done');
    expect(run.executed).toEqual(['reload', 'boot', 'conf', 'last']);
    expect(run.actor.getSnapshot().context.steps['say']!.status).toBe('done');
    expect(run.emitted.filter((event) => event.type === 'step.skipped').map((event) => event.stepId)).toEqual(['openrc', 'grub', 'look']);
  });

  it('a checkpoint whose condition holds waits for its confirmation', async () => {
    const run = start({ text: source.replace('swap_mode == "single"', 'swap_mode == "dual"') });
    await run.settle(() => run.actor.getSnapshot().context.steps['look']!.status === 'waiting');
    expect(positionOf(run.actor.getSnapshot())).toEqual({ stepId: 'look', place: 'confirming' });
    run.actor.stop();
  });

  it('a step that needs hands is decided first: skipped without being held, or held once its condition holds', async () => {
    const text = `name: hands
hosts:
  old: {}
phases:
  - name: one
    steps:
      - run: plug-modem
        host: old
        id: plug
        needs: hands
        when: old.systemd
      - note: hold the cable
        id: cable
        needs: hands
        when: old.cpus == 1
`;
    const run = start({ text });
    await run.settle(() => positionOf(run.actor.getSnapshot())?.place === 'held');
    expect(positionOf(run.actor.getSnapshot())).toEqual({ stepId: 'cable', place: 'held' });
    expect(run.emitted.filter((event) => event.type === 'step.held').map((event) => event.stepId)).toEqual(['cable']);
    expect(run.actor.getSnapshot().context.steps['plug']).toMatchObject({ status: 'skipped', skipReason: 'when old.systemd (old.systemd is false)' });
    run.actor.stop();
  });

  it('an edit step is decided before its change is worked out: skipped without reading the file, or prepared and approved', async () => {
    const text = `name: edits
hosts:
  old: {}
  new: {}
phases:
  - name: one
    steps:
      - edit: /etc/hostname
        id: old-name
        host: old
        content: "dragon\\n"
        when: host.systemd
      - edit: /etc/hostname
        id: new-name
        host: new
        content: "dragon\\n"
        when: host.systemd
`;
    const runbook = parseRunbook(text, 'rb.yaml');
    const prepared: string[] = [];
    const applied: string[] = [];
    const machine = compileRunbook(runbook).provide({
      actors: {
        decideWhen: fromPromise<WhenDecision, { step: Step; values: Record<string, string> }>(async ({ input }) => {
          const result = evaluate(input.step.when![0]!.expr, { values: {}, facts: FACTS });
          return result.holds ? { holds: true, reason: '' } : { holds: false, reason: skipReason(input.step.when![0]!.text, result.found) };
        }),
        prepareEdit: fromPromise(async ({ input }) => {
          prepared.push(input.step.id);
          return { changed: true, diff: '-old\n+dragon\n' };
        }),
        applyEdit: fromPromise(async ({ input }) => void applied.push(input.step.id)),
      },
    });
    const actor = createActor(machine).start();
    await waitFor(actor, (snapshot) => positionOf(snapshot)?.place === 'approval', { timeout: 2000 });
    expect(positionOf(actor.getSnapshot())).toEqual({ stepId: 'new-name', place: 'approval' });
    expect(actor.getSnapshot().context.steps['old-name']).toMatchObject({ status: 'skipped', skipReason: 'when host.systemd (old.systemd is false)' });
    expect(prepared).toEqual(['new-name']);
    actor.send({ type: 'APPROVE', stepId: 'new-name', by: UPGRADER, value: 'new' });
    await waitFor(actor, (snapshot) => snapshot.status === 'done', { timeout: 2000 });
    expect(applied).toEqual(['new-name']);
  });

  it("puts the phase's condition before the step's own", () => {
    const { runbook } = start();
    const last = allSteps(runbook).find((step) => step.id === 'last')!;
    expect(last.when?.map((condition) => [condition.scope, condition.text])).toEqual([
      ['phase', 'swap_mode == "dual"'],
      ['step', 'new.kernel =~ "^6\\\\."'],
    ]);
    expect(runbook.phases[1]!.when?.text).toBe('swap_mode == "dual"');
  });

  it('a step whose condition cannot be decided fails with the reason; a retry decides again, a skip goes on', async () => {
    const run = start({ unreachable: ['new'] });
    await run.settle(() => run.actor.getSnapshot().context.steps['reload']!.status === 'failed');
    const snapshot = run.actor.getSnapshot();
    expect(positionOf(snapshot)).toEqual({ stepId: 'reload', place: 'failed' });
    expect(snapshot.context.steps['reload']!.error).toBe('could not read the facts of new: no route to host');
    expect(run.executed).toEqual([]);
    // Something else than retry or skip is refused there, with the rules' reason.
    run.actor.send({ type: 'RESUME', by: UPGRADER });
    expect(run.emitted.some((event) => event.type === 'step.refused' && event.stepId === 'reload')).toBe(true);
    run.unreachable.delete('new');
    run.actor.send({ type: 'RETRY', stepId: 'reload', by: UPGRADER });
    await run.settle(() => run.actor.getSnapshot().status === 'done');
    expect(run.decided.filter((id) => id === 'reload')).toHaveLength(2);
    expect(run.executed[0]).toBe('reload');
  });

  it('a step that cannot be decided may be skipped with a reason, like any failed step', async () => {
    const run = start({ unreachable: ['new'] });
    await run.settle(() => run.actor.getSnapshot().context.steps['reload']!.status === 'failed');
    run.actor.send({ type: 'SKIP', stepId: 'reload', by: UPGRADER, reason: 'new is not reachable yet' });
    await run.settle(() => run.actor.getSnapshot().context.steps['openrc']!.status === 'done');
    expect(run.actor.getSnapshot().context.steps['reload']).toMatchObject({ status: 'skipped', skipReason: 'new is not reachable yet' });
    expect(run.executed).not.toContain('reload');
  });

  it('on_fail: fallback applies to a condition that cannot be decided', async () => {
    const text = `name: when fallback
hosts:
  new: {}
phases:
  - name: one
    steps:
      - run: daemon-reload
        host: new
        id: reload
        when: new.systemd
        on_fail: fallback
fallback:
  - local: echo back
    id: back
`;
    const run = start({ unreachable: ['new'], text });
    await run.settle(() => run.actor.getSnapshot().status === 'done');
    expect(run.emitted.at(-1)).toMatchObject({ type: 'run.finished', outcome: 'fell-back' });
    expect(run.executed).toEqual(['back']);
  });

  it('refuses every action while deciding', async () => {
    const run = start();
    const hang = compileRunbook(run.runbook).provide({ actors: { decideWhen: fromPromise(() => new Promise<WhenDecision>(() => {})) } });
    const actor = createActor(hang);
    const emitted: EngineEmitted[] = [];
    actor.on('*', (event) => emitted.push(event));
    actor.start();
    expect(positionOf(actor.getSnapshot())).toEqual({ stepId: 'reload', place: 'deciding' });
    actor.send({ type: 'RETRY', stepId: 'reload', by: UPGRADER });
    actor.send({ type: 'SKIP', stepId: 'reload', by: UPGRADER, reason: 'no' });
    const refused = emitted.filter((event) => event.type === 'step.refused');
    expect(refused.map((event) => event.type === 'step.refused' && event.reason)).toEqual([
      'retry is not possible now: step reload is being decided (its when: condition)',
      'skip is not possible now: step reload is being decided (its when: condition)',
    ]);
    actor.stop();
  });
});
