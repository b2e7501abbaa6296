import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import type { CommandResult } from '../engine/machine.js';
import { compileRunbook } from '../engine/machine.js';
import type { EngineEmitted } from '../engine/events.js';
import { AttemptMayStillRunError, type AttemptState } from '../engine/unsettled-attempt.js';
import { parseRunbook } from '../runbook/load.js';
import type { Step } from '../runbook/types.js';
import { rearmTimeLimit, restoreMachine, RestoreError } from './restore.js';
import { recordingMachine } from '../../test/support/test-machine.js';

const UPGRADER = { role: 'upgrader' as const, name: 'ana' };

const source = `name: restore test
hosts:
  dolphin: {}
phases:
  - name: prepare
    steps:
      - run: restore-root
        host: dolphin
        id: detached
        timeout: 5s
      - run: grub-install
        host: dolphin
        id: foreground
        attach: false
      - local: mark
        id: checked
        check: test -f mark
      - run: verify
        host: dolphin
        id: last
`;

/** A machine whose commands hang until told, with a record of what ran. */
function machineFor(checkResult: CommandResult = { exitCode: 0 }) {
  const runbook = parseRunbook(source, 'rb.yaml');
  const ran: string[] = [];
  const checked: string[] = [];
  const release = new Map<string, (result: CommandResult) => void>();
  const perform = (step: Step) =>
    new Promise<CommandResult>((resolve) => {
      ran.push(step.id);
      release.set(step.id, resolve);
    });
  const machine = compileRunbook(runbook).provide({
    actors: {
      runRemote: fromPromise(async ({ input }) => perform(input.step)),
      runLocal: fromPromise(async ({ input }) => perform(input.step)),
      runCheck: fromPromise(async ({ input }) => {
        checked.push(input.step.id);
        return checkResult;
      }),
      // An attempt that may still run turns out to have been stopped by its TERM.
      checkAttempt: fromPromise(async (): Promise<AttemptState> => ({ state: 'ended', exitCode: 143 })),
    },
  });
  return { runbook, machine, ran, checked, release };
}

/** Runs until `stepId` is in flight and returns the machine as it would be saved then. */
async function savedWhileRunning(stepId: string) {
  const { machine, release } = machineFor();
  const actor = createActor(machine);
  actor.start();
  for (const id of ['detached', 'foreground', 'checked']) {
    await waitFor(actor, (snapshot) => snapshot.context.current === id);
    if (id === stepId) break;
    release.get(id)!({ exitCode: 0 });
  }
  const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as unknown;
  actor.stop();
  return saved;
}

describe('restoring a saved machine', () => {
  it('a detached step in flight is followed again under the same attempt', async () => {
    const saved = await savedWhileRunning('detached');
    const fresh = machineFor();
    const restored = restoreMachine(saved, fresh.runbook);
    expect(restored).toMatchObject({ inFlight: 'detached', interrupted: false, reattach: ['detached'], attempts: { detached: 1 } });
    const actor = createActor(fresh.machine, { snapshot: restored.machine as never });
    actor.start();
    await waitFor(actor, () => fresh.ran.includes('detached'));
    fresh.release.get('detached')!({ exitCode: 0 });
    await waitFor(actor, (snapshot) => snapshot.context.current === 'foreground');
    expect(actor.getSnapshot().context.steps['detached']).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('a foreground step in flight is not run again: RESUME puts it to the upgrader, who may mark it done', async () => {
    const saved = await savedWhileRunning('foreground');
    const fresh = machineFor();
    const restored = restoreMachine(saved, fresh.runbook);
    expect(restored).toMatchObject({ inFlight: 'foreground', interrupted: true, reattach: [] });
    const actor = createActor(fresh.machine, { snapshot: restored.machine as never });
    const emitted: EngineEmitted[] = [];
    actor.on('*', (event) => emitted.push(event));
    actor.start();
    actor.send({ type: 'RESUME', by: UPGRADER });
    expect(actor.getSnapshot().value).toEqual({ main: { foreground: 'failed' } });
    expect(actor.getSnapshot().context.steps['foreground']).toMatchObject({ status: 'failed', interrupted: true });
    expect(fresh.ran).toEqual([]);
    // A reason is required.
    actor.send({ type: 'MARK_DONE', stepId: 'foreground', by: UPGRADER, reason: ' ' });
    expect(emitted.at(-1)).toMatchObject({ type: 'step.refused' });
    actor.send({ type: 'MARK_DONE', stepId: 'foreground', by: UPGRADER, reason: 'grub.cfg is there' });
    expect(emitted).toContainEqual(expect.objectContaining({ type: 'decision', action: 'mark-done', reason: 'grub.cfg is there' }));
    expect(actor.getSnapshot().context.steps['foreground']).toMatchObject({ status: 'done' });
    await waitFor(actor, () => fresh.ran.includes('checked'));
    expect(fresh.ran).toEqual(['checked']);
  });

  it('a step with a check that says done is finished without running it again', async () => {
    const saved = await savedWhileRunning('checked');
    const fresh = machineFor({ exitCode: 0 });
    const restored = restoreMachine(saved, fresh.runbook);
    const actor = createActor(fresh.machine, { snapshot: restored.machine as never });
    const emitted: EngineEmitted[] = [];
    actor.on('*', (event) => emitted.push(event));
    actor.start();
    actor.send({ type: 'RESUME', by: UPGRADER });
    await waitFor(actor, () => fresh.ran.includes('last'));
    expect(fresh.checked).toEqual(['checked']);
    expect(fresh.ran).toEqual(['last']);
    expect(emitted).toContainEqual(expect.objectContaining({ type: 'step.checked', stepId: 'checked', exitCode: 0 }));
    expect(emitted).toContainEqual(expect.objectContaining({ type: 'step.finished', stepId: 'checked', status: 'done' }));
  });

  it('a check that says not done leaves the decision to the upgrader; retry runs a new attempt', async () => {
    const saved = await savedWhileRunning('checked');
    const fresh = machineFor({ exitCode: 1 });
    const restored = restoreMachine(saved, fresh.runbook);
    const actor = createActor(fresh.machine, { snapshot: restored.machine as never });
    actor.start();
    actor.send({ type: 'RESUME', by: UPGRADER });
    await waitFor(actor, (snapshot) => JSON.stringify(snapshot.value).includes('failed'));
    expect(fresh.ran).toEqual([]);
    actor.send({ type: 'RETRY', stepId: 'checked', by: UPGRADER });
    await waitFor(actor, () => fresh.ran.includes('checked'));
    expect(actor.getSnapshot().context.steps['checked']).toMatchObject({ status: 'running', attempts: 2 });
  });

  it('refuses a session stopped at a step the runbook no longer has', async () => {
    const saved = await savedWhileRunning('foreground');
    const changed = parseRunbook(source.replace('id: foreground', 'id: grub'), 'rb.yaml');
    expect(() => restoreMachine(saved, changed)).toThrow(RestoreError);
    expect(() => restoreMachine(saved, changed)).toThrow(/step foreground, which the runbook no longer has/);
  });

  it('a step followed again keeps its time limit, counted from when the attempt started', async () => {
    const saved = await savedWhileRunning('detached');
    const fresh = machineFor();
    const restored = restoreMachine(saved, fresh.runbook);
    const actor = createActor(fresh.machine, { snapshot: restored.machine as never });
    const emitted: EngineEmitted[] = [];
    actor.on('*', (event) => emitted.push(event));
    actor.start();
    const startedAt = actor.getSnapshot().context.steps['detached']!.startedAt!;
    // As if nightshift had been away for 4.9 of the step's 5 seconds.
    const disarm = rearmTimeLimit(actor, restored, fresh.runbook, startedAt + 4900);
    await waitFor(actor, (snapshot) => JSON.stringify(snapshot.value).includes('failed'), { timeout: 1000 });
    disarm();
    expect(emitted).toContainEqual(
      expect.objectContaining({ type: 'step.finished', stepId: 'detached', status: 'failed', error: 'did not finish within 5.0s' }),
    );
    // A stale limit of an earlier attempt does not touch the next one (which starts once
    // the first is known to have ended: its limit may have left it running on its host).
    actor.send({ type: 'RETRY', stepId: 'detached', by: UPGRADER });
    await waitFor(actor, (snapshot) => snapshot.context.steps['detached']!.attempts === 2, { timeout: 1000 });
    actor.send({ type: 'TIMEOUT', stepId: 'detached', attempt: 1 });
    expect(actor.getSnapshot().context.steps['detached']).toMatchObject({ status: 'running', attempts: 2 });
    expect(emitted).toContainEqual(expect.objectContaining({ type: 'attempt.checked', stepId: 'detached', attempt: 1, state: 'ended', exitCode: 143 }));
  });
});

describe('restoring a step held for hands on site', () => {
  const handsSource = `name: hands restore test
hosts:
  dragon: {}
phases:
  - name: cutover
    steps:
      - run: prepare
        host: dragon
        id: prepare
      - run: plug-modem
        host: dragon
        id: plug
        needs: hands
`;

  const handsMachine = () => recordingMachine(handsSource);

  /** The machine's persisted snapshot once its first step needing hands is held. */
  async function savedWhileHeld(): Promise<{ context: Record<string, unknown> }> {
    const actor = createActor(handsMachine().machine);
    actor.start();
    await waitFor(actor, (snapshot) => JSON.stringify(snapshot.value).includes('held'));
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as { context: Record<string, unknown> };
    actor.stop();
    return saved;
  }

  it('a session saved while a step was held restores held, with nobody on site, and goes on when hands come', async () => {
    const saved = await savedWhileHeld();
    // As saved by a nightshift that knew nothing about hands.
    delete saved.context['hands'];

    const fresh = handsMachine();
    const restored = restoreMachine(saved, fresh.runbook);
    expect(restored).toMatchObject({ current: 'plug', inFlight: null, interrupted: false, reattach: [] });
    expect(restored.machine).toMatchObject({
      value: { main: { plug: 'held' } },
      context: { hands: { available: false, why: 'no sentinel has joined' } },
    });
    const resumed = createActor(fresh.machine, { snapshot: restored.machine as never });
    const emitted: EngineEmitted[] = [];
    resumed.on('*', (event) => emitted.push(event));
    resumed.start();
    expect(resumed.getSnapshot().value).toEqual({ main: { plug: 'held' } });
    expect(fresh.ran).toEqual([]);
    resumed.send({ type: 'HANDS', available: true, why: 'mia is on site' });
    await waitFor(resumed, (snapshot) => snapshot.status === 'done');
    expect(fresh.ran).toEqual(['plug']);
    expect(emitted).toContainEqual(expect.objectContaining({ type: 'step.released', stepId: 'plug' }));
  });

  it('who was on site is not carried over into the resumed session', async () => {
    const saved = await savedWhileHeld();
    saved.context['hands'] = { available: true, why: 'mia was on site' };
    const restored = restoreMachine(saved, handsMachine().runbook);
    expect(restored.machine).toMatchObject({ context: { hands: { available: false, why: 'no sentinel has joined' } } });
  });

  it('refuses a session held at a step that no longer needs hands', async () => {
    const first = handsMachine();
    const actor = createActor(first.machine);
    actor.start();
    await waitFor(actor, (snapshot) => JSON.stringify(snapshot.value).includes('held'));
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as unknown;
    actor.stop();
    const changed = parseRunbook(handsSource.replace('        needs: hands\n', ''), 'rb.yaml');
    expect(() => restoreMachine(saved, changed)).toThrow(/held for hands on site, but the runbook no longer says needs: hands/);
  });
});

describe('restoring a step whose attempt may still run', () => {
  it('saved while its host was asked about the attempt (before a retry): restored failed, asked again, nothing started', async () => {
    const runbook = parseRunbook(source, 'rb.yaml');
    const machine = compileRunbook(runbook).provide({
      actors: {
        runRemote: fromPromise(async (): Promise<CommandResult> => {
          throw new AttemptMayStillRunError('Lost dolphin');
        }),
        checkAttempt: fromPromise(() => new Promise<AttemptState>(() => {})),
      },
    });
    const running = createActor(machine);
    running.start();
    await waitFor(running, (snapshot) => snapshot.context.steps['detached']!.mayStillRun === 1);
    running.send({ type: 'RETRY', stepId: 'detached', by: UPGRADER });
    expect(JSON.stringify(running.getSnapshot().value)).toContain('checkingAttempt');
    const saved = JSON.parse(JSON.stringify(running.getPersistedSnapshot())) as unknown;
    running.stop();

    const restored = restoreMachine(saved, runbook);
    expect(restored).toMatchObject({ inFlight: null, interrupted: false, reattach: [], unsettled: ['detached'] });
    const actor = createActor(machine, { snapshot: restored.machine as never });
    actor.start();
    expect(actor.getSnapshot().value).toEqual({ main: { detached: 'failed' } });
    expect(actor.getSnapshot().context.steps['detached']).toMatchObject({ status: 'failed', attempts: 1, mayStillRun: 1 });
  });
});

describe('restoring a reboot that was in flight', () => {
  const rebootSource = `name: reboot restore test
hosts:
  dolphin: {}
phases:
  - name: boot
    steps:
      - reboot: dolphin
        id: boot
        on_fail: fallback
      - run: verify
        host: dolphin
        id: verify
fallback:
  - run: swap back
    host: dolphin
    id: back
`;

  /** A machine whose reboot does what `outcomes` say, in order (a pending promise until told when 'hang'). */
  function rebootMachine(outcomes: Array<'hang' | 'ok' | Error>) {
    const runbook = parseRunbook(rebootSource, 'rb.yaml');
    const reboots: Array<{ follow: boolean }> = [];
    const machine = compileRunbook(runbook).provide({
      actors: {
        runRemote: fromPromise(async (): Promise<CommandResult> => ({ exitCode: 0 })),
        reboot: fromPromise(async ({ input }) => {
          reboots.push({ follow: input.follow === true });
          const next = outcomes.shift() ?? 'ok';
          if (next === 'hang') await new Promise(() => {});
          if (next instanceof Error) throw next;
        }),
      },
    });
    return { runbook, machine, reboots };
  }

  /** The machine saved while its reboot was in flight, restored and resumed: at the upgrader's question. */
  async function resumedAtTheQuestion(outcomes: Array<'ok' | Error>) {
    const first = rebootMachine(['hang']);
    const running = createActor(first.machine);
    running.start();
    await waitFor(running, (snapshot) => snapshot.context.steps['boot']!.status === 'running');
    const saved = JSON.parse(JSON.stringify(running.getPersistedSnapshot())) as unknown;
    running.stop();

    const fresh = rebootMachine(outcomes);
    const restored = restoreMachine(saved, fresh.runbook);
    expect(restored).toMatchObject({ inFlight: 'boot', interrupted: true });
    const actor = createActor(fresh.machine, { snapshot: restored.machine as never });
    const emitted: EngineEmitted[] = [];
    actor.on('*', (event) => emitted.push(event));
    actor.start();
    actor.send({ type: 'RESUME', by: UPGRADER });
    return { actor, emitted, reboots: fresh.reboots };
  }

  it('done is not taken on trust: the reboot is waited for and verified (never issued), then the run goes on', async () => {
    const { actor, emitted, reboots } = await resumedAtTheQuestion(['ok']);
    expect(actor.getSnapshot().context.steps['boot']).toMatchObject({ status: 'failed', interrupted: true });
    expect(actor.getSnapshot().context.steps['boot']!.error).toMatch(
      /^nightshift stopped while attempt 1 rebooted dolphin\. Retry waits for it to come back and verifies it; done \(with a reason\) verifies it now/,
    );
    actor.send({ type: 'MARK_DONE', stepId: 'boot', by: UPGRADER, reason: 'its console shows the new system' });
    await waitFor(actor, (snapshot) => snapshot.status === 'done');
    expect(reboots).toEqual([{ follow: true }]);
    expect(actor.getSnapshot().context.steps['boot']).toMatchObject({ status: 'done', attempts: 1 });
    expect(emitted).toContainEqual(
      expect.objectContaining({ type: 'decision', stepId: 'boot', action: 'mark-done', reason: 'its console shows the new system' }),
    );
    expect(emitted).toContainEqual(expect.objectContaining({ type: 'step.finished', stepId: 'boot', status: 'done' }));
    expect(emitted).toContainEqual(expect.objectContaining({ type: 'run.finished', outcome: 'completed' }));
  });

  it('a verification that fails after done comes back to the upgrader, not to on_fail: fallback', async () => {
    const { actor, emitted } = await resumedAtTheQuestion([new Error('dolphin came back on its old root')]);
    actor.send({ type: 'MARK_DONE', stepId: 'boot', by: UPGRADER, reason: 'looked' });
    await waitFor(actor, (snapshot) => snapshot.context.steps['boot']!.error === 'dolphin came back on its old root');
    expect(JSON.stringify(actor.getSnapshot().value)).toContain('failed');
    expect(emitted.map((event) => event.type)).not.toContain('fallback.started');
  });

  it('a connection failure inside a retry does not fire on_fail: fallback: the upgrader is asked', async () => {
    const { actor, emitted, reboots } = await resumedAtTheQuestion([new Error('Lost dolphin: no login within 600 s after the link dropped')]);
    actor.send({ type: 'RETRY', stepId: 'boot', by: UPGRADER });
    await waitFor(actor, (snapshot) => snapshot.context.steps['boot']!.attempts === 2 && snapshot.context.steps['boot']!.status === 'failed');
    expect(reboots).toEqual([{ follow: false }]);
    expect(emitted.map((event) => event.type)).not.toContain('fallback.started');
    expect(actor.getSnapshot().context.steps['boot']!.error).toMatch(/^Lost dolphin/);
  });
});

describe('restoring an edit step', () => {
  const editSource = `name: restore edit
hosts:
  dolphin: {}
phases:
  - name: one
    steps:
      - edit: /etc/hostname
        id: name
        host: dolphin
        content: "dolphin\\n"
`;

  it.each(['preparing', 'approval'] as const)('saved while %s: restored failed with why, and a retry reads the file again and asks again', async (place) => {
    const runbook = parseRunbook(editSource, 'rb.yaml');
    const prepared: string[] = [];
    const machine = compileRunbook(runbook).provide({
      actors: {
        prepareEdit: fromPromise(async ({ input, signal }) => {
          prepared.push(input.step.id);
          if (place === 'preparing' && prepared.length === 1) await new Promise((resolve) => signal.addEventListener('abort', resolve));
          return { changed: true, diff: '--- /etc/hostname\n+++ /etc/hostname\n' };
        }),
      },
    });
    const first = createActor(machine);
    first.start();
    await waitFor(first, () => prepared.length === 1 && (place === 'preparing' || first.getSnapshot().hasTag('approval')));
    const saved = JSON.parse(JSON.stringify(first.getPersistedSnapshot())) as unknown;
    first.stop();
    const restored = restoreMachine(saved, runbook);
    expect(restored).toMatchObject({ current: 'name', inFlight: null, interrupted: false });
    const actor = createActor(machine, { snapshot: restored.machine as never });
    actor.start();
    expect(actor.getSnapshot().hasTag('failed')).toBe(true);
    expect(actor.getSnapshot().context.steps['name']).toMatchObject({
      status: 'failed',
      error: 'nightshift stopped before the change to /etc/hostname on dolphin was made: retry to read the file again and see its diff',
    });
    actor.send({ type: 'RETRY', stepId: 'name', by: UPGRADER });
    await waitFor(actor, (snapshot) => snapshot.hasTag('approval'));
    expect(prepared).toEqual(['name', 'name']);
  });
});
