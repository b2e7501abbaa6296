// Plain mode and --json for a rollout, around a stand-in run whose context the test sets.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ActionQuery, EngineEmitted, EngineEvent, Outcome } from '../../engine/events.js';
import { fleetViewsOf } from '../../engine/fleet-view.js';
import { refusalOf, ruleBookOf } from '../../engine/rules.js';
import type { Focus } from '../../engine/view.js';
import { allSteps, type Step } from '../../runbook/types.js';
import type { Run } from '../../runner/run.js';
import type { JournalEntry } from '../../store/journal.js';
import { fleetContext, fleetRunbook, standHost } from '../../../test/support/fleet-runbook.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { LineReader } from './line-reader.js';
import { plainLinesPrinter, runPlain } from './plain.js';

const EVIL = 'vm\x1b[2J\u202e3';

function fleetRun(hosts = ['vm1', 'vm2', EVIL]) {
  const runbook = fleetRunbook({ hosts, serial: 3 });
  const context = fleetContext(runbook, 0);
  const stepOf = (id: string): Step => allSteps(runbook).find((step) => step.id === id)!;
  const changed = new Set<() => void>();
  const emitted = new Set<(event: EngineEmitted) => void>();
  const written = new Set<(entry: JournalEntry) => void>();
  const sent: EngineEvent[] = [];
  let outcome: Outcome | null = null;
  let focus: Focus | null = null;
  let finish!: (outcome: Outcome) => void;
  const finished = new Promise<Outcome>((resolve) => (finish = resolve));
  // The tests change the context in place, which the engine never does: each look gets a copy
  // (views are kept per context).
  const waitingStep = () => fleetViewsOf({ ...context }, runbook)[0]!.hosts.find((host) => host.waiting)?.step?.id;
  const run = {
    runbook,
    actor: {
      getSnapshot: () => ({ context: { ...context }, status: outcome ? 'done' : 'active' }),
      subscribe: (listener: () => void) => {
        changed.add(listener);
        return { unsubscribe: () => changed.delete(listener) };
      },
    },
    upgrader: { role: 'upgrader', name: 'ana' },
    relaysAllowed: false,
    session: {
      id: 'test',
      dir: '/tmp/test',
      journal: {
        path: '/tmp/test/journal.jsonl',
        onWritten: (listener: (entry: JournalEntry) => void) => (written.add(listener), () => written.delete(listener)),
      },
    },
    stepOf,
    view: () => ({ track: 'main', scope: null, outcome, focus }),
    send: (event: EngineEvent) => sent.push(event),
    onEvent: (listener: (event: EngineEmitted) => void) => (emitted.add(listener), () => emitted.delete(listener)),
    start: () => {},
    finished,
    outcome: () => outcome,
    whyNot: (query: ActionQuery) => {
      const stepId = waitingStep();
      return refusalOf(
        { book: ruleBookOf(runbook, false), context, at: stepId ? { stepId, place: 'failed' } : focus ? { stepId: focus.stepId, place: 'confirming' } : null },
        query,
      );
    },
  } as unknown as Run;
  return {
    run,
    runbook,
    context,
    sent,
    emit: (event: EngineEmitted) => emitted.forEach((listener) => listener(event)),
    journal: (entry: JournalEntry) => written.forEach((listener) => listener(entry)),
    changed: () => changed.forEach((listener) => listener()),
    setFocus: (next: Focus | null) => (focus = next),
    end: (how: Outcome) => {
      outcome = how;
      changed.forEach((listener) => listener());
      finish(how);
    },
  };
}

function plain(run: Run, json = false) {
  const input = new PassThrough();
  let written = '';
  const outcome = runPlain(run, { reader: new LineReader(input), write: (text) => void (written += text), json, tz: 'UTC' });
  return { input, outcome, written: () => written };
}

describe('plain mode in a rollout', () => {
  it('prefixes every line of a host with it and says what batches, hosts and the rollout did', async () => {
    const fake = fleetRun();
    const io = plain(fake.run);
    const at = 0;
    fake.emit({ type: 'batch.started', phase: 'update', batch: 1, hosts: ['vm1', 'vm2', EVIL], canary: false, at });
    fake.emit({ type: 'host.started', phase: 'update', host: 'vm2', batch: 1, at });
    fake.emit({ type: 'step.started', stepId: 'update-1@vm2', attempt: 1, at } as EngineEmitted);
    fake.emit({
      type: 'step.finished',
      stepId: 'update-1@vm2',
      status: 'failed',
      exitCode: 100,
      error: 'exit 100\x1b[31m',
      durationMs: 1200,
      at,
    } as EngineEmitted);
    fake.emit({ type: 'decision', stepId: null, action: 'skip-host', host: 'vm2', by: { role: 'upgrader', name: 'ana' }, reason: 'disk full', at });
    fake.emit({ type: 'host.finished', phase: 'update', host: 'vm2', outcome: 'fell-back', reason: 'apt-get exited with status 100', at });
    fake.emit({ type: 'host.finished', phase: 'update', host: EVIL, outcome: 'done', at });
    fake.emit({ type: 'batch.finished', phase: 'update', batch: 1, done: ['vm1', EVIL], failed: ['vm2'], at });
    fake.emit({ type: 'rollout.halted', phase: 'update', batch: 1, failed: ['vm2'], maxFail: 0, reason: '1 host failed, more than max_fail 0', at });
    const text = io.written();
    expect(text).toContain(`batch 1/1 of update started: vm1 vm2 vm^[[2J<U+202E>3`);
    expect(text).toContain('[vm2] started (batch 1)');
    expect(text).toContain('[vm2] > 2.1@vm2 refresh the package lists');
    expect(text).toContain('[vm2] FAILED 2.1@vm2 refresh the package lists after 1.2s: exit 100^[[31m');
    expect(text).toContain('[vm2] decision by ana: skip-host (disk full)');
    expect(text).toContain('[vm2] vm2 fell back: apt-get exited with status 100');
    expect(text).toContain('[vm^[[2J<U+202E>3] vm^[[2J<U+202E>3 done');
    expect(text).toContain('batch 1/1 of update finished: 2 done, 1 failed: vm2');
    expect(text).toContain('rollout of update halted after batch 1/1: 1 host failed, more than max_fail 0 (failed: vm2)');
    expect(text).not.toContain('\x1b[2J');
    expect(text).not.toContain('\u202e');
    fake.end('completed');
    await io.outcome;
  });

  it("prefixes a host's output lines with it", () => {
    let text = '';
    const fake = fleetRun();
    plainLinesPrinter({ write: (more) => void (text += more), json: false })(fake.run.stepOf('update-2@vm2'), ['Setting up openssl', 'done'], false);
    expect(text).toBe('[vm2] Setting up openssl\n[vm2] done\n');
  });

  it('asks about the first failed host, names it and how many more wait, and sends SKIP_HOST with the reason', async () => {
    const fake = fleetRun();
    standHost(fake.context, fake.runbook, 'vm1', 'running', { index: 0, status: 'failed', error: 'exit 1' });
    standHost(fake.context, fake.runbook, 'vm2', 'running', { index: 1, status: 'failed', error: 'exit 100' });
    const io = plain(fake.run);
    await waitFor(() => io.written().includes('Answer'));
    expect(io.written()).toContain('[vm1] 2.1@vm1 refresh the package lists failed on vm1: exit 1');
    expect(io.written()).toContain('1 more host waits for a decision after this one.');
    expect(io.written()).toContain('Answer retry | skip REASON | fallback REASON | stop-rollout REASON | fallback-all REASON | pause:');
    io.input.write('skip\n');
    await waitFor(() => io.written().includes('not accepted'));
    expect(io.written()).toContain('skipping a host needs a reason (answer skip REASON)');
    io.input.write('skip disk full, look tomorrow\n');
    await waitFor(() => fake.sent.length === 1);
    expect(fake.sent[0]).toEqual({
      type: 'SKIP_HOST',
      phase: 'update',
      host: 'vm1',
      by: { role: 'upgrader', name: 'ana' },
      reason: 'disk full, look tomorrow',
    });
    // The engine takes it: the next failed host is asked about.
    standHost(fake.context, fake.runbook, 'vm1', 'skipped', undefined, 'disk full, look tomorrow');
    fake.changed();
    await waitFor(() => io.written().includes('failed on vm2'));
    io.input.write('stop-rollout enough for tonight\n');
    await waitFor(() => fake.sent.length === 2);
    expect(fake.sent[1]).toMatchObject({ type: 'STOP_ROLLOUT', phase: 'update', host: 'vm2', reason: 'enough for tonight' });
    fake.end('paused');
    await io.outcome;
  });

  it('reads a halt checkpoint as continue the rollout, with the failed hosts named', async () => {
    const fake = fleetRun();
    standHost(fake.context, fake.runbook, 'vm1', 'done');
    standHost(fake.context, fake.runbook, 'vm2', 'fell-back', undefined, 'exit 100');
    fake.setFocus({ stepId: 'update-halt-1', waitingFor: 'confirmation', roles: ['upgrader'] });
    const io = plain(fake.run);
    await waitFor(() => io.written().includes('Answer'));
    expect(io.written()).toContain('2.H1 the rollout stopped: look at the failed hosts: the rollout of phase update halted; failed so far (1): vm2.');
    expect(io.written()).toContain('Type yes to continue the rollout. Answer yes (continue the rollout) | fallback-all REASON | pause:');
    io.input.write('yes\n');
    await waitFor(() => fake.sent.length === 1);
    expect(fake.sent[0]).toMatchObject({ type: 'CONFIRM', stepId: 'update-halt-1', role: 'upgrader' });
    fake.end('completed');
    await io.outcome;
  });

  it('gives every --json entry about a host of a rollout its host', async () => {
    const fake = fleetRun();
    const io = plain(fake.run, true);
    fake.journal({ type: 'step.started', stepId: 'update-1@vm2', attempt: 1, at: '2026-12-04T07:00:00.000Z' } as unknown as JournalEntry);
    fake.journal({ type: 'step.started', stepId: 'look', attempt: 1, at: '2026-12-04T07:00:00.000Z' } as unknown as JournalEntry);
    let output = '';
    plainLinesPrinter({ write: (more) => void (output += more), json: true })(fake.run.stepOf('update-2@vm2'), ['ok'], false);
    const lines = io
      .written()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ type: 'step.started', stepId: 'update-1@vm2', host: 'vm2' });
    expect(lines[1]).not.toHaveProperty('host');
    expect(JSON.parse(output)).toMatchObject({ type: 'output', stepId: 'update-2@vm2', host: 'vm2', line: 'ok' });
    fake.end('completed');
    await io.outcome;
  });
});
