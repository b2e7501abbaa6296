import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { parseRunbook } from '../runbook/load.js';
import { allSteps, type Step } from '../runbook/types.js';
import { viewOf } from './view.js';
import { restoreMachine } from '../runner/restore.js';
import { valuesOf } from './context.js';
import type { EngineEmitted } from './events.js';
import { compileRunbook, type CommandResult } from './machine.js';

const source = `name: capture
hosts:
  new: {}
phases:
  - name: disk
    steps:
      - run: blkid -s UUID -o value /dev/vdb2
        host: new
        id: uuid
        capture: root_uuid
      - local: echo label
        id: label
        capture: { name: label, regex: 'LABEL=(\\S+)' }
      - run: mount UUID={{root_uuid}} /mnt
        host: new
        id: use
        destructive: 'uuid {{root_uuid}}'
`;

/** A machine whose commands answer from `results` by step id (exit 0 otherwise), with what it emitted. */
function start(results: Record<string, CommandResult | Error>, saved?: unknown) {
  const runbook = parseRunbook(source, 'rb.yaml');
  const perform = async ({ input }: { input: { step: Step } }): Promise<CommandResult> => {
    const result = results[input.step.id] ?? { exitCode: 0 };
    if (result instanceof Error) throw result;
    return result;
  };
  const machine = compileRunbook(runbook).provide({ actors: { runRemote: fromPromise(perform), runLocal: fromPromise(perform) } });
  const actor = createActor(machine, saved ? { snapshot: restoreMachine(saved, runbook).machine as never } : {});
  const emitted: EngineEmitted[] = [];
  actor.on('*', (event) => emitted.push(event as EngineEmitted));
  actor.start();
  return { actor, emitted };
}

const UPGRADER = { role: 'upgrader' as const, name: 'ana' };

async function approveUse(actor: ReturnType<typeof start>['actor']) {
  await waitFor(actor, (snapshot) => snapshot.context.current === 'use' && snapshot.context.steps['use']!.status === 'waiting', { timeout: 2000 });
  actor.send({ type: 'APPROVE', stepId: 'use', by: UPGRADER, value: `uuid ${valuesOf(actor.getSnapshot().context)['root_uuid']}` });
}

describe('captured values in the engine', () => {
  it('stores a value a step captured and emits value.captured before the step is finished', async () => {
    const { actor, emitted } = start({ uuid: { exitCode: 0, captured: '4f1c-aa' }, label: { exitCode: 0, captured: 'root' } });
    await approveUse(actor);
    await waitFor(actor, (snapshot) => snapshot.status === 'done', { timeout: 2000 });
    expect(valuesOf(actor.getSnapshot().context)).toEqual({ root_uuid: '4f1c-aa', label: 'root' });
    const types = emitted.filter((event) => event.type === 'value.captured' || event.type === 'step.finished').map((event) => event.type);
    expect(types.slice(0, 2)).toEqual(['value.captured', 'step.finished']);
    expect(emitted.find((event) => event.type === 'value.captured')).toMatchObject({ stepId: 'uuid', name: 'root_uuid', value: '4f1c-aa' });
  });

  it('fails a step whose capture found nothing, with the runner’s reason', async () => {
    const { actor } = start({ uuid: new Error('capture root_uuid (the last non-empty line): the step printed no line on stdout; stdout had no line') });
    await waitFor(actor, (snapshot) => snapshot.context.steps['uuid']!.status === 'failed', { timeout: 2000 });
    expect(actor.getSnapshot().context.steps['uuid']!.error).toContain('capture root_uuid');
    expect(actor.getSnapshot().context.steps['use']!.status).toBe('pending');
    expect(valuesOf(actor.getSnapshot().context)).toEqual({});
  });

  it('fails closed on an exit 0 that came back without the value', async () => {
    const { actor, emitted } = start({ uuid: { exitCode: 0 } });
    await waitFor(actor, (snapshot) => snapshot.context.steps['uuid']!.status === 'failed', { timeout: 2000 });
    expect(actor.getSnapshot().context.steps['uuid']!.error).toMatch(/capture root_uuid has no value/);
    expect(emitted.some((event) => event.type === 'value.captured')).toBe(false);
  });

  it('a failing exit captures nothing', async () => {
    const { actor } = start({ uuid: { exitCode: 3, captured: 'ignored' } });
    await waitFor(actor, (snapshot) => snapshot.context.steps['uuid']!.status === 'failed', { timeout: 2000 });
    expect(valuesOf(actor.getSnapshot().context)).toEqual({});
  });

  it('asks to type the approval text with the captured value in, and refuses the text as written', async () => {
    const { actor, emitted } = start({ uuid: { exitCode: 0, captured: '4f1c-aa' }, label: { exitCode: 0, captured: 'root' } });
    await waitFor(actor, (snapshot) => snapshot.context.current === 'use' && snapshot.context.steps['use']!.status === 'waiting', { timeout: 2000 });
    expect(viewOf(actor.getSnapshot(), (id) => allSteps(parseRunbook(source, 'rb.yaml')).find((step) => step.id === id)!).focus).toMatchObject({
      waitingFor: 'approval',
      text: 'uuid 4f1c-aa',
    });
    actor.send({ type: 'APPROVE', stepId: 'use', by: UPGRADER, value: 'uuid {{root_uuid}}' });
    expect(emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: 'the typed text does not match "uuid 4f1c-aa"' });
    actor.send({ type: 'APPROVE', stepId: 'use', by: UPGRADER, value: 'uuid 4f1c-aa' });
    await waitFor(actor, (snapshot) => snapshot.status === 'done', { timeout: 2000 });
  });

  it('keeps the values through a save and a restore', async () => {
    const { actor } = start({ uuid: { exitCode: 0, captured: '4f1c-aa' }, label: { exitCode: 2 } });
    await waitFor(actor, (snapshot) => snapshot.context.steps['label']!.status === 'failed', { timeout: 2000 });
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as unknown;
    actor.stop();
    const restored = restoreMachine(saved, parseRunbook(source, 'rb.yaml'));
    expect((restored.machine as { context: { values?: Record<string, string> } }).context.values).toEqual({ root_uuid: '4f1c-aa' });
    const again = start({ label: { exitCode: 0, captured: 'root' } }, saved);
    again.actor.send({ type: 'RETRY', stepId: 'label', by: UPGRADER });
    await approveUse(again.actor);
    await waitFor(again.actor, (snapshot) => snapshot.status === 'done', { timeout: 2000 });
    expect(valuesOf(again.actor.getSnapshot().context)).toEqual({ root_uuid: '4f1c-aa', label: 'root' });
  });
});
