import { renderToString } from 'ink';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { refusalOf, ruleBookOf } from '../engine/rules.js';
import type { ActionQuery, Actor } from '../engine/events.js';
import { fleetViewsOf } from '../engine/fleet-view.js';
import { allSteps } from '../runbook/types.js';
import { fleetContext, fleetRunbook, standHost } from '../../test/support/fleet-runbook.js';
import { hintLines, keysFor } from './key-map.js';
import { activePrompt } from './prompt.js';
import { PromptPanel } from './prompt-panel.js';

const by: Actor = { role: 'upgrader', name: 'ana' };
const hosts = Array.from({ length: 10 }, (_, index) => `vm${index + 1}`);

function setUp(fallback = true) {
  const runbook = fleetRunbook({ hosts, serial: 5, maxFail: 1, fallback });
  const context = fleetContext(runbook, 0);
  const stepOf = (id: string) => allSteps(runbook).find((step) => step.id === id)!;
  // The engine rests at the failed host's step (the first in the grid order).
  const whyNot = (query: ActionQuery) => {
    const failed = fleetViewsOf(context, runbook)[0]!.hosts.find((host) => host.waiting)?.step?.id;
    return refusalOf({ book: ruleBookOf(runbook, false), context, at: failed ? { stepId: failed, place: 'failed' } : null }, query);
  };
  const promptNow = () =>
    activePrompt({
      mode: { kind: 'normal' },
      question: undefined,
      focus: null,
      outcome: null,
      stepOf,
      relaysAllowed: false,
      fleets: fleetViewsOf(context, runbook),
    });
  return { runbook, context, whyNot, promptNow, stepOf };
}

describe('the failure prompt of a rollout', () => {
  it('asks about the first failed host in the grid order, says how many more wait, and offers what the engine allows', () => {
    const { runbook, context, whyNot, promptNow } = setUp();
    standHost(context, runbook, 'vm2', 'running', { index: 0, status: 'running' });
    standHost(context, runbook, 'vm4', 'running', { index: 1, status: 'failed', error: 'exit 100' });
    standHost(context, runbook, 'vm3', 'running', { index: 0, status: 'failed', error: 'exit 1' });
    const prompt = promptNow();
    expect(prompt).toMatchObject({ kind: 'host-decision', host: 'vm3', phase: 'update', error: 'exit 1', more: 1, fallback: true });
    const hints = hintLines(keysFor(prompt, { by, chat: false }), whyNot);
    // No pause while vm2's step is at work.
    expect(hints).toEqual(['r retry on vm3 · s skip vm3 · f fall back vm3 · x stop the rollout · F fall back all']);
    const text = stripVTControlCharacters(renderToString(<PromptPanel prompt={prompt} hints={hints} text="" message={null} width={100} />, { columns: 100 }));
    expect(text).toContain('FAILED on vm3 · 2.1@vm3 refresh the package lists: exit 1');
    expect(text).toContain('1 more host waits for a decision');
  });

  it('offers no host fallback when the phase has none, and no stop once the rollout is stopping', () => {
    const { runbook, context, whyNot, promptNow } = setUp(false);
    standHost(context, runbook, 'vm1', 'running', { index: 1, status: 'failed', error: 'exit 1' });
    context.fleets!.update!.stopping = { by, reason: 'enough for tonight' };
    const prompt = promptNow();
    expect(prompt).toMatchObject({ kind: 'host-decision', host: 'vm1', fallback: false });
    expect(hintLines(keysFor(prompt, { by, chat: false }), whyNot)).toEqual(['r retry on vm1 · s skip vm1 · F fall back all · p pause']);
  });

  it('reads a halt checkpoint as "continue the rollout", naming the failed hosts', () => {
    const { runbook, context, stepOf } = setUp();
    const whyNot = (query: ActionQuery) =>
      refusalOf({ book: ruleBookOf(runbook, false), context, at: { stepId: 'update-halt-1', place: 'confirming' } }, query);
    standHost(context, runbook, 'vm1', 'done');
    standHost(context, runbook, 'vm2', 'skipped', undefined, 'disk full');
    standHost(context, runbook, 'vm3', 'fell-back', undefined, 'exit 100');
    const prompt = activePrompt({
      mode: { kind: 'normal' },
      question: undefined,
      focus: { stepId: 'update-halt-1', waitingFor: 'confirmation', roles: ['upgrader'] },
      outcome: null,
      stepOf,
      relaysAllowed: false,
      fleets: fleetViewsOf(context, runbook),
    });
    expect(prompt).toMatchObject({ kind: 'confirmation', rollout: { phase: 'update', kind: 'halt', failed: ['vm2', 'vm3'] } });
    const hints = hintLines(keysFor(prompt, { by, chat: false }), whyNot);
    expect(hints).toEqual(['y continue the rollout · p pause · F fall back all']);
    const text = stripVTControlCharacters(renderToString(<PromptPanel prompt={prompt} hints={hints} text="" message={null} width={100} />, { columns: 100 }));
    expect(text).toContain('ROLLOUT HALTED · phase update');
    expect(text).toContain('Failed so far (2): vm2, vm3. Confirm to continue the rollout with the next batch.');
  });

  it('offers to stop a rollout under way while its hosts run, with no failure, until it is stopping', () => {
    const { runbook, context, stepOf } = setUp();
    standHost(context, runbook, 'vm1', 'running', { index: 0, status: 'running' });
    const running = () =>
      activePrompt({
        mode: { kind: 'normal' },
        question: undefined,
        focus: { stepId: 'update-1@vm1', waitingFor: 'running' },
        outcome: null,
        stepOf,
        relaysAllowed: false,
        // A copy: the test changes the context in place, which the engine never does, and views are kept per context.
        fleets: fleetViewsOf({ ...context }, runbook),
      });
    const whyNot = (query: ActionQuery) => refusalOf({ book: ruleBookOf(runbook, false), context, at: { stepId: 'update-1@vm1', place: 'running' } }, query);
    expect(running()).toMatchObject({ kind: 'running', rollout: 'update' });
    expect(hintLines(keysFor(running(), { by, chat: false }), whyNot)[0]).toContain('x stop the rollout');
    context.fleets!.update!.stopping = { by, reason: 'enough' };
    expect(running()).not.toHaveProperty('rollout');
  });

  it('shows a hostile host name and error as text', () => {
    const evil = 'vm\x1b[2J\u202eX';
    const runbook = fleetRunbook({ hosts: [evil, 'vm2'] });
    const context = fleetContext(runbook, 0);
    standHost(context, runbook, evil, 'running', { index: 0, status: 'failed', error: 'oops\x1b]0;title\x07\r\nmore' });
    const stepOf = (id: string) => allSteps(runbook).find((step) => step.id === id)!;
    const prompt = activePrompt({
      mode: { kind: 'normal' },
      question: undefined,
      focus: null,
      outcome: null,
      stepOf,
      relaysAllowed: false,
      fleets: fleetViewsOf(context, runbook),
    });
    const raw = renderToString(<PromptPanel prompt={prompt} hints={['s skip']} text="" message={null} width={120} />, { columns: 120 });
    expect(raw).not.toContain('\x1b[2J');
    expect(raw).not.toContain('\x1b]0;');
    expect(raw).not.toContain('\u202e');
    expect(stripVTControlCharacters(raw)).toContain('FAILED on vm^[[2J<U+202E>X');
  });
});
