import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { ActionQuery, EngineEmitted, EngineEvent } from '../../engine/events.js';
import { whyNot } from '../../engine/rules.js';
import { viewOf } from '../../engine/view.js';
import { allSteps, type Step } from '../../runbook/types.js';
import { LineReader } from './line-reader.js';
import { runPlain } from './plain.js';
import type { Run } from '../../runner/run.js';
import { recordingMachine } from '../../../test/support/test-machine.js';
import { waitFor } from '../../../test/support/wait-for.js';

const source = `name: plain hands
hosts:
  dragon: {}
phases:
  - name: cutover
    steps:
      - run: plug-modem
        host: dragon
        id: plug
        title: Plug the modem into the new dragon
        needs: hands
      - run: wipe
        host: dragon
        id: wipe
        needs: hands
`;

/** A Run around the real engine, with commands that succeed and no session on disk. */
function fakeRun() {
  const { runbook, machine, ran } = recordingMachine(source);
  const actor = createActor(machine);
  const stepOf = (id: string): Step => allSteps(runbook).find((step) => step.id === id)!;
  const listeners = new Set<(event: EngineEmitted) => void>();
  actor.on('*', (event) => listeners.forEach((listener) => listener(event)));
  const finished = new Promise<NonNullable<ReturnType<Run['outcome']>>>((resolve) => {
    actor.subscribe((snapshot) => {
      const outcome = viewOf(snapshot, stepOf).outcome;
      if (outcome) resolve(outcome);
    });
  });
  const run = {
    runbook,
    actor,
    upgrader: { role: 'upgrader', name: 'ana' },
    session: { id: 'test', dir: '/tmp/test', journal: { path: '/tmp/test/journal.jsonl' } },
    stepOf,
    view: () => viewOf(actor.getSnapshot(), stepOf),
    send: (event: EngineEvent) => actor.send(event),
    onEvent: (listener: (event: EngineEmitted) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start: () => actor.start(),
    finished,
    outcome: () => viewOf(actor.getSnapshot(), stepOf).outcome,
    whyNot: (query: ActionQuery) => whyNot(actor.getSnapshot(), runbook, query),
  } as unknown as Run;
  return { run, ran };
}

function plain(run: Run) {
  const input = new PassThrough();
  let written = '';
  const outcome = runPlain(run, { reader: new LineReader(input), write: (text) => void (written += text), json: false, tz: 'UTC' });
  return { input, outcome, written: () => written };
}

describe('plain mode and steps held for hands on site', () => {
  it('says a step is held, takes override REASON, and refuses other answers', async () => {
    const { run, ran } = fakeRun();
    const io = plain(run);
    await waitFor(() => io.written().includes('is held'));
    expect(io.written()).toContain('HELD 1.1 Plug the modem into the new dragon: it needs hands on site (no sentinel has joined)');
    // This runbook has no fallback steps: the engine would refuse a fallback, so it is not offered.
    expect(io.written()).toContain('Answer override REASON (go on without them) | pause:');
    io.input.write('retry\n');
    await waitFor(() => io.written().includes('did not understand "retry"'));
    io.input.write('override\n');
    // Whether a reason will do is the engine's to say; plain mode says its answer.
    const why = run.whyNot({ type: 'OVERRIDE_HOLD', stepId: 'plug', by: run.upgrader, reason: '' })!;
    expect(why).not.toBeNull();
    await waitFor(() => io.written().includes(`: ${why} (answer override REASON)`));
    io.input.write('override the modem is already in\n');
    await waitFor(() => io.written().includes('HELD 1.2'));
    expect(io.written()).toContain('going on with 1.1 Plug the modem into the new dragon without hands on site, by ana: the modem is already in');
    expect(ran).toEqual(['plug']);
    io.input.write('pause\n');
    expect(await io.outcome).toBe('paused');
  });

  it('goes on by itself when hands come, without waiting for an answer', async () => {
    const { run, ran } = fakeRun();
    const io = plain(run);
    await waitFor(() => io.written().includes('HELD 1.1'));
    run.send({ type: 'HANDS', available: true, why: 'mia is on site' });
    await waitFor(() => io.written().includes('released 1.1'));
    await waitFor(() => ran.includes('wipe'));
    expect(await io.outcome).toBe('completed');
    expect(io.written()).not.toContain('HELD 1.2');
  });
});

describe('LineReader.nextUnless', () => {
  it('gives up when aborted and keeps a later line for the next question', async () => {
    const input = new PassThrough();
    const reader = new LineReader(input);
    const released = new AbortController();
    const pending = reader.nextUnless(released.signal);
    released.abort();
    expect(await pending).toBeUndefined();
    input.write('yes\n');
    expect(await reader.next()).toBe('yes');
    input.write('early\n');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await reader.nextUnless(new AbortController().signal)).toBe('early');
  });
});
