import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { parseRunbook } from '../runbook/load.js';
import type { EngineEmitted } from './events.js';
import { compileRunbook } from './machine.js';
import { positionOf } from './rules.js';
import type { EditPlan } from './setup.js';

const UPGRADER = { role: 'upgrader' as const, name: 'ana' };

const source = `name: edit test
hosts:
  dragon: {}
phases:
  - name: one
    steps:
      - edit: /etc/hostname
        id: name
        host: dragon
        content: "dragon\\n"
      - run: after
        host: dragon
        id: after
fallback:
  - undo: name
    id: back
`;

type Prepare = EditPlan | Error | 'hang';

function start(prepares: Prepare[], applies: Array<Error | 'ok'> = [], from?: { phase: string; session: string }) {
  const runbook = parseRunbook(
    from
      ? `${source.replace('fallback:', '  - name: two\n    steps:\n      - run: two\n        host: dragon\n        id: two\n        on_fail: fallback\nfallback:')}`
      : source,
    'rb.yaml',
  );
  const calls: string[] = [];
  const machine = compileRunbook(runbook, from ? { from } : {}).provide({
    actors: {
      prepareEdit: fromPromise(async ({ input, signal }) => {
        calls.push(`prepare ${input.step.id}`);
        const next = prepares.shift() ?? { changed: false, diff: '' };
        if (next === 'hang') return new Promise<EditPlan>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
        if (next instanceof Error) throw next;
        return next;
      }),
      applyEdit: fromPromise(async ({ input }) => {
        calls.push(`apply ${input.step.id}`);
        const next = applies.shift() ?? 'ok';
        if (next instanceof Error) throw next;
      }),
      undoEdit: fromPromise(async ({ input }) => {
        calls.push(`undo ${input.step.id}${input.editedIn !== undefined ? ` of ${input.editedIn}` : ''}`);
      }),
      runRemote: fromPromise(async ({ input }) => {
        calls.push(`run ${input.step.id}`);
        return { exitCode: input.step.id === 'two' ? 1 : 0 };
      }),
    },
  });
  const actor = createActor(machine);
  const emitted: EngineEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  const at = (place: string, stepId: string) =>
    waitFor(actor, (snapshot) => positionOf(snapshot)?.place === place && positionOf(snapshot)?.stepId === stepId, { timeout: 2000 });
  return { actor, emitted, calls, at };
}

const DIFF = '--- /etc/hostname\n+++ /etc/hostname\n@@ -1 +1 @@\n-old\n+dragon\n';

describe('an edit step', () => {
  it('with nothing to change is done at once, without asking, and its record says so', async () => {
    const h = start([{ changed: false, diff: '' }]);
    await waitFor(h.actor, (snapshot) => snapshot.status === 'done', { timeout: 2000 });
    expect(h.calls).toEqual(['prepare name', 'run after']);
    expect(h.emitted.find((event) => event.type === 'edit.prepared')).toMatchObject({ stepId: 'name', path: '/etc/hostname', changed: false, diff: '' });
    expect(h.emitted.some((event) => event.type === 'step.waiting' && event.stepId === 'name')).toBe(false);
    expect(h.actor.getSnapshot().context.steps['name']).toMatchObject({ status: 'done' });
  });

  it('with a change shows its diff, waits for the typed host name, then applies it', async () => {
    const h = start([{ changed: true, diff: DIFF }]);
    await h.at('approval', 'name');
    expect(h.emitted.find((event) => event.type === 'edit.prepared')).toMatchObject({ changed: true, diff: DIFF });
    expect(h.calls).toEqual(['prepare name']);
    h.actor.send({ type: 'APPROVE', stepId: 'name', by: UPGRADER, value: 'not-it' });
    expect(h.emitted.at(-1)).toMatchObject({ type: 'step.refused', reason: 'the typed text does not match "dragon"' });
    h.actor.send({ type: 'APPROVE', stepId: 'name', by: UPGRADER, value: 'dragon' });
    await waitFor(h.actor, (snapshot) => snapshot.status === 'done', { timeout: 2000 });
    expect(h.calls).toEqual(['prepare name', 'apply name', 'run after']);
  });

  it('fails when its file cannot be read, and a retry reads it again and asks again', async () => {
    const h = start([new Error('/etc/hostname on dragon is a symbolic link'), { changed: true, diff: DIFF }]);
    await h.at('failed', 'name');
    expect(h.actor.getSnapshot().context.steps['name']).toMatchObject({ status: 'failed', error: '/etc/hostname on dragon is a symbolic link' });
    h.actor.send({ type: 'RETRY', stepId: 'name', by: UPGRADER });
    await h.at('approval', 'name');
    expect(h.calls).toEqual(['prepare name', 'prepare name']);
  });

  it('fails when the file changed since its diff, and a retry shows the new diff', async () => {
    const h = start(
      [
        { changed: true, diff: DIFF },
        { changed: true, diff: DIFF.replace('-old', '-older') },
      ],
      [new Error('the file changed since the diff was shown')],
    );
    await h.at('approval', 'name');
    h.actor.send({ type: 'APPROVE', stepId: 'name', by: UPGRADER, value: 'dragon' });
    await h.at('failed', 'name');
    h.actor.send({ type: 'RETRY', stepId: 'name', by: UPGRADER });
    await h.at('approval', 'name');
    expect(h.emitted.filter((event) => event.type === 'edit.prepared').map((event) => (event as { diff: string }).diff)).toEqual([
      DIFF,
      DIFF.replace('-old', '-older'),
    ]);
  });

  it('refuses every action while its file is being read, and its undo runs in the fallback', async () => {
    const h = start(['hang']);
    await h.at('preparing', 'name');
    h.actor.send({ type: 'APPROVE', stepId: 'name', by: UPGRADER, value: 'dragon' });
    h.actor.send({ type: 'SKIP', stepId: 'name', by: UPGRADER, reason: 'later' });
    const refusals = h.emitted.filter((event) => event.type === 'step.refused');
    expect(refusals.map((event) => (event as { reason: string }).reason)).toEqual([
      'approval is not possible now: step name is being compared with the file on its host',
      'skip is not possible now: step name is being compared with the file on its host',
    ]);
    h.actor.send({ type: 'FALLBACK', by: UPGRADER, reason: 'abandon' });
    await waitFor(h.actor, (snapshot) => snapshot.status === 'done', { timeout: 2000 });
    expect(h.calls).toEqual(['prepare name', 'undo back']);
  });

  it('undone in a session that went again after it, puts back the backup the earlier session kept', async () => {
    const h = start([], [], { phase: 'two', session: '20261202-030000-aaaa' });
    await waitFor(h.actor, (snapshot) => snapshot.status === 'done', { timeout: 2000 });
    expect(h.calls).toContain('undo back of 20261202-030000-aaaa');
    expect(h.calls.some((call) => call.startsWith('prepare'))).toBe(false);
  });
});
