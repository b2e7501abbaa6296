import { describe, expect, it } from 'vitest';
import { ChatHub } from '../chat/hub.js';
import type { EngineEmitted } from '../engine/events.js';
import { parseRunbook } from '../runbook/load.js';
import { allSteps } from '../runbook/types.js';
import { guardNote, noteRunEvents, runNote } from './chat-run-notes.js';

const runbook = parseRunbook(
  [
    'name: swap',
    'sites:',
    '  upgrader: { name: Boston, tz: America/New_York }',
    '  site: { name: Taipei, tz: Asia/Taipei }',
    'phases:',
    '  - name: one',
    '    steps:',
    '      - checkpoint: the modem is plugged into the new dragon',
    '        by: sentinel',
    '        id: modem',
    '      - local: "false"',
    '        id: check',
    '        title: "check \\u001b[2Jfrom outside"',
    '',
  ].join('\n'),
  'swap.yaml',
);
const stepOf = (id: string) => allSteps(runbook).find((step) => step.id === id)!;
// Monday 03:14 in Boston is Monday 16:14 in Taipei.
const AT = Date.UTC(2026, 10, 30, 8, 14);

describe('the run in the chat', () => {
  it('says who confirmed what, when in both clocks, and failures, pauses, fallbacks and the end', () => {
    const note = (event: EngineEmitted) => runNote(event, stepOf, runbook.sites);
    expect(note({ type: 'step.confirmed', stepId: 'modem', role: 'sentinel', by: { role: 'sentinel', name: 'mia' }, relayed: false, at: AT })).toBe(
      'mia (sentinel) confirmed 1.1 the modem is plugged into the new dragon at 03:14 Boston / 16:14 Taipei',
    );
    expect(note({ type: 'step.confirmed', stepId: 'modem', role: 'sentinel', by: { role: 'upgrader', name: 'kim' }, relayed: true, at: AT })).toMatch(
      /^kim \(upgrader\) confirmed 1\.1 .* for the sentinel at 03:14 Boston/,
    );
    expect(note({ type: 'step.finished', stepId: 'check', status: 'failed', exitCode: 1, error: 'exited with status 1', durationMs: 5, at: AT })).toMatch(
      /^1\.2 check .*from outside failed: exited with status 1$/,
    );
    expect(note({ type: 'step.finished', stepId: 'check', status: 'done', exitCode: 0, durationMs: 5, at: AT })).toBeNull();
    expect(note({ type: 'decision', stepId: 'check', action: 'pause', by: { role: 'upgrader', name: 'kim' }, at: AT })).toBe(
      'kim (upgrader) paused the run at 03:14 Boston / 16:14 Taipei',
    );
    expect(note({ type: 'fallback.started', by: { role: 'upgrader', name: 'kim' }, reason: 'no route from outside', fromStepId: 'check', at: AT })).toBe(
      'fallback started by kim (upgrader): no route from outside',
    );
    expect(note({ type: 'run.finished', outcome: 'completed', at: AT })).toBe('the run completed at 03:14 Boston / 16:14 Taipei');
  });

  it('goes into the chat with its control characters gone', () => {
    const hub = new ChatHub(() => {});
    let listener: ((event: EngineEmitted) => void) | undefined;
    const stop = noteRunEvents({ onEvent: (each) => ((listener = each), () => (listener = undefined)), stepOf, runbook }, hub);
    listener!({ type: 'step.finished', stepId: 'check', status: 'failed', error: 'exited with status 1', durationMs: 5, at: AT });
    const said = hub.messages().at(-1)!;
    expect(said.from).toBeNull();
    expect(said.text).not.toContain('\u001b');
    expect(said.text).toMatch(/^1\.2 check .*from outside failed/);
    stop();
    expect(listener).toBeUndefined();
  });

  it("in plain mode is for the helpers only: the upgrader's own lines say it already", () => {
    const hub = new ChatHub(() => {});
    const upgrader = hub.join({ role: 'upgrader', name: 'kim', tz: 'America/New_York', id: 'upgrader' });
    const helper = hub.join({ role: 'sentinel', name: 'mei', tz: 'Asia/Taipei', id: 'helper-1' });
    let listener: ((event: EngineEmitted) => void) | undefined;
    const stop = noteRunEvents({ onEvent: (each) => ((listener = each), () => (listener = undefined)), stepOf, runbook }, hub, upgrader.id);
    listener!({ type: 'step.finished', stepId: 'check', status: 'failed', error: 'exited with status 1', durationMs: 5, at: AT });
    expect(hub.messages(helper.id).at(-1)?.text).toMatch(/^1\.2 check .* failed: exited with status 1$/);
    expect(hub.messages(upgrader.id).some((message) => message.text.includes('failed'))).toBe(false);
    stop();
  });

  it("says a rollout's failures once per batch, not once per host", () => {
    const fleet = parseRunbook(
      `name: fleet
hosts:
  vm1: {}
  vm2: {}
  vm3: {}
groups:
  guests: [vm1, vm2, vm3]
phases:
  - name: update
    for_each: guests
    serial: 3
    steps:
      - run: apt-get update
        host: "{{host}}"
`,
      'fleet.yaml',
    );
    const fleetSteps = new Map(allSteps(fleet).map((step) => [step.id, step]));
    const hostStep = [...fleetSteps.values()].find((step) => step.instanceOf?.host === 'vm2')!;
    const say = (event: EngineEmitted) => runNote(event, (id) => fleetSteps.get(id)!, fleet.sites);
    expect(say({ type: 'step.finished', stepId: hostStep.id, status: 'failed', error: 'exited with status 100', durationMs: 5, at: AT })).toBeNull();
    expect(say({ type: 'batch.finished', phase: 'update', batch: 1, done: ['vm1'], failed: ['vm2', 'vm3'], at: AT })).toBe(
      'batch 1 of update: 2 of 3 hosts failed (vm2, vm3)',
    );
    expect(say({ type: 'batch.finished', phase: 'update', batch: 2, done: ['vm1'], failed: [], at: AT })).toBeNull();
  });

  it("says when a guard's machines undo the block by themselves, in both clocks, and what became of it", () => {
    const sites = runbook.sites;
    expect(guardNote({ type: 'guard.armed', guard: 'swap', host: 'dragon', how: 'sleeper 1', deadline: AT, afterMs: 600_000 }, sites)).toBe(
      'guard swap armed on dragon: it undoes the block by itself at 03:14 Boston / 16:14 Taipei unless it is committed',
    );
    expect(guardNote({ type: 'guard.extended', guard: 'swap', host: 'dragon', deadline: AT }, sites)).toBe(
      'guard swap: dragon now waits until 03:14 Boston / 16:14 Taipei',
    );
    expect(guardNote({ type: 'guard.committed', guard: 'swap', host: 'dragon' }, sites)).toBe('guard swap committed on dragon: the changes stay');
    expect(guardNote({ type: 'guard.fired', guard: 'swap', host: 'dolphin', by: 'deadline', exitCode: 0 }, sites)).toBe(
      'guard swap: dolphin undid the block by itself at its deadline',
    );
    expect(guardNote({ type: 'guard.fired', guard: 'swap', host: 'dolphin', by: 'nightshift', exitCode: 2 }, sites)).toBe(
      "guard swap: dolphin's revert ran and exited 2: look at the machine",
    );
    expect(guardNote({ type: 'guard.spare-up', guard: 'swap', host: 'dolphin', port: 1022, server: 'openssh /usr/sbin/sshd' }, sites)).toBeNull();
  });

  it("says a guard's events in the chat as the keeper records them, until unsubscribed", () => {
    const hub = new ChatHub(() => {});
    let guardListener: ((event: Parameters<typeof guardNote>[0]) => void) | undefined;
    const guards = { onGuardEvent: (each: typeof guardListener & {}) => ((guardListener = each), () => (guardListener = undefined)) };
    const stop = noteRunEvents({ onEvent: () => () => {}, stepOf, runbook, guards }, hub);
    guardListener!({ type: 'guard.committed', guard: 'swap', host: 'dragon' });
    expect(hub.messages().at(-1)?.text).toBe('guard swap committed on dragon: the changes stay');
    stop();
    expect(guardListener).toBeUndefined();
  });
});
