import { describe, expect, it } from 'vitest';
import { sessionRecordOf } from './session-record.js';
import { TEST_SESSION, TEST_START, TestJournal } from '../../test/support/test-journal.js';

const actor = { role: 'upgrader', name: 'ana' };

describe('sessionRecordOf', () => {
  it('turns starts and ends into attempts with their results, durations and outputs', () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'step.started', { stepId: 'restore-1', attempt: 1 })
      .add(4, 'output.closed', { stepId: 'restore-1', attempt: 1, file: 'output/restore-1.1.log', bytes: 10, lines: 2 })
      .add(4, 'step.finished', { stepId: 'restore-1', status: 'failed', exitCode: 2, error: 'exited with status 2', durationMs: 3000 })
      .add(5, 'decision', { stepId: 'restore-1', action: 'retry', by: actor })
      .add(5, 'step.started', { stepId: 'restore-1', attempt: 2 })
      .add(9, 'output.closed', { stepId: 'restore-1', attempt: 2, file: 'output/restore-1.2.log', bytes: 10, lines: 2 })
      .add(9, 'step.finished', { stepId: 'restore-1', status: 'done', exitCode: 0, durationMs: 4000 })
      .add(10, 'run.finished', { outcome: 'completed' })
      .add(10, 'session.closed', { outcome: 'completed' });
    const record = sessionRecordOf(journal.reading());
    expect(record.session).toBe('20261129-080000-abcd');
    expect(record.sites.site).toEqual({ name: 'Taipei office', tz: 'Asia/Taipei' });
    expect(record.outcome).toBe('completed');
    expect(record.startedAt).toBe(TEST_START);
    expect(record.endedAt).toBe(TEST_START + 10_000);
    expect(record.attempts).toEqual([
      expect.objectContaining({
        stepId: 'restore-1',
        attempt: 1,
        status: 'failed',
        exitCode: 2,
        error: 'exited with status 2',
        durationMs: 3000,
        fallback: false,
      }),
      expect.objectContaining({ stepId: 'restore-1', attempt: 2, status: 'done', exitCode: 0, durationMs: 4000 }),
    ]);
    expect(record.attempts[1]!.output).toEqual({ file: 'output/restore-1.2.log', bytes: 10, lines: 2 });
    expect(record.decisions).toEqual([{ stepId: 'restore-1', action: 'retry', by: actor, at: TEST_START + 5000 }]);
    expect(record.warnings).toEqual([]);
  });

  it('records skips with their reasons, confirmations with who and whether relayed, and the fallback', () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'step.started', { stepId: 'restore-2', attempt: 1 })
      .add(2, 'step.finished', { stepId: 'restore-2', status: 'failed', exitCode: 1, durationMs: 1000 })
      .add(3, 'step.skipped', { stepId: 'restore-2', by: actor, reason: 'checked by hand' })
      .add(3, 'decision', { stepId: 'restore-2', action: 'skip', by: actor, reason: 'checked by hand' })
      .add(4, 'step.started', { stepId: 'cutover-1', attempt: 1 })
      .add(4, 'step.waiting', { stepId: 'cutover-1', for: 'confirmation', roles: ['sentinel'] })
      .add(6, 'step.confirmed', { stepId: 'cutover-1', role: 'sentinel', by: actor, relayed: true })
      .add(6, 'step.finished', { stepId: 'cutover-1', status: 'done', durationMs: 2000 })
      .add(7, 'decision', { stepId: null, action: 'fallback', by: actor, reason: 'no route' })
      .add(7, 'fallback.started', { by: actor, reason: 'no route', fromStepId: 'cutover-1' })
      .add(7, 'step.started', { stepId: 'fallback-1', attempt: 1 })
      .add(8, 'step.finished', { stepId: 'fallback-1', status: 'done', exitCode: 0, durationMs: 1000 })
      .add(8, 'run.finished', { outcome: 'fell-back' });
    const record = sessionRecordOf(journal.reading());
    expect(record.skips).toEqual([{ stepId: 'restore-2', by: actor, reason: 'checked by hand', at: TEST_START + 3000 }]);
    expect(record.attempts[0]).toMatchObject({ stepId: 'restore-2', status: 'failed' });
    expect(record.confirmations).toEqual([{ stepId: 'cutover-1', kind: 'confirmed', role: 'sentinel', by: actor, relayed: true, at: TEST_START + 6000 }]);
    expect(record.decisions.map((decision) => decision.action)).toEqual(['skip', 'fallback']);
    expect(record.attempts.map((attempt) => attempt.fallback)).toEqual([false, false, true]);
    expect(record.events).toContainEqual(expect.objectContaining({ type: 'fallback.started', text: expect.stringContaining('from step 2.1') }));
    expect(record.outcome).toBe('fell-back');
  });

  it("tells an edit step's change by its lines added and removed, or that there was nothing to change", () => {
    const diff = '--- /etc/hostname\n+++ /etc/hostname\n@@ -1 +1,2 @@\n-old\n+dragon\n+x\n';
    const journal = new TestJournal()
      .started()
      .add(1, 'edit.prepared', { stepId: 'restore-2', path: '/etc/hostname', changed: true, diff })
      .add(2, 'edit.prepared', { stepId: 'restore-2', path: '/etc/hostname\x1b[2J', changed: false, diff: '' });
    const texts = sessionRecordOf(journal.reading()).events.map((event) => event.text);
    expect(texts).toContain('step 1.2: a change to /etc/hostname shown for approval (+2 -1 lines)');
    expect(texts.find((text) => text.includes('nothing to change'))).not.toContain('\x1b');
  });

  it('an attempt followed again after a lost link (reattach) is one attempt, ending once', () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'step.started', { stepId: 'restore-1', attempt: 1 })
      .add(3, 'step.finished', { stepId: 'restore-1', status: 'failed', error: 'Lost dolphin', durationMs: 2000 })
      .add(4, 'attempt.checked', { stepId: 'restore-1', attempt: 1, state: 'running', pid: 4242 })
      .add(5, 'decision', { stepId: 'restore-1', action: 'reattach', attempt: 1, by: actor })
      .add(9, 'step.finished', { stepId: 'restore-1', status: 'done', exitCode: 0, durationMs: 8000 });
    const record = sessionRecordOf(journal.reading());
    expect(record.attempts).toEqual([expect.objectContaining({ stepId: 'restore-1', attempt: 1, status: 'done', exitCode: 0, endedAt: TEST_START + 9000 })]);
    expect(record.decisions.map((decision) => decision.action)).toEqual(['reattach']);
  });

  it('ends an attempt that was waiting when it was skipped', () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'step.started', { stepId: 'cutover-1', attempt: 1 })
      .add(5, 'step.skipped', { stepId: 'cutover-1', by: actor, reason: 'cable was already moved' });
    const [attempt] = sessionRecordOf(journal.reading()).attempts;
    expect(attempt).toMatchObject({ status: 'skipped', startedAt: TEST_START + 1000, endedAt: TEST_START + 5000, durationMs: 4000 });
  });

  it('marks what ran when the run paused as interrupted, and keeps attempts apart across a resume', () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'step.started', { stepId: 'restore-1', attempt: 1 })
      .add(2, 'session.paused', { by: actor, reason: 'lunch', stepId: 'restore-1' })
      .add(3, 'session.closed', { outcome: 'paused' })
      .add(3600, 'session.resumed', { ...TEST_SESSION, by: actor, host: 'laptop', pid: 42, stepId: 'restore-1', interrupted: true })
      .add(3600, 'journal.torn', { line: 7, text: '{"seq":7,' })
      .add(3600, 'step.started', { stepId: 'restore-1', attempt: 2 })
      .add(3605, 'step.finished', { stepId: 'restore-1', status: 'done', exitCode: 0, durationMs: 5000 })
      .add(3606, 'chat.message', { from: { role: 'sentinel', name: 'mei' }, text: 'back from lunch' })
      .addRaw(3607, 'something.new', { detail: 1 });
    const record = sessionRecordOf(journal.reading());
    expect(record.attempts).toEqual([
      expect.objectContaining({ attempt: 1, status: 'interrupted', endedAt: TEST_START + 2000, durationMs: 1000 }),
      expect.objectContaining({ attempt: 2, status: 'done', durationMs: 5000 }),
    ]);
    expect(record.chat).toEqual([{ from: { role: 'sentinel', name: 'mei' }, text: 'back from lunch', at: TEST_START + 3_606_000 }]);
    expect(record.events.map((event) => event.type)).toEqual([
      'run.started',
      'session.paused',
      'session.closed',
      'session.resumed',
      'journal.torn',
      'something.new',
    ]);
    expect(record.events[1]!.text).toBe('session paused by ana: lunch');
    expect(record.events[3]!.text).toBe('session resumed by ana on laptop');
    expect(record.events.at(-1)!.text).toBe('something.new {"detail":1}');
    expect(record.warnings).toEqual([expect.stringContaining('line 7 of the journal')]);
    // Paused once, but resumed: the session has not ended yet.
    expect(record.outcome).toBe('unfinished');
  });

  it('leaves out an entry whose fields are not as its type is written, and says so', () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'step.started', { stepId: 'restore-1', attempt: 1 })
      .addRaw(2, 'step.finished', { stepId: 'restore-1', status: 'maybe', durationMs: 1000 });
    const record = sessionRecordOf(journal.reading());
    expect(record.warnings).toEqual([expect.stringMatching(/^journal\.jsonl:3: .*status.* It is left out of this report\.$/)]);
    expect(record.attempts[0]).toMatchObject({ status: 'running' });
  });

  it('tolerates a torn last line and says so', () => {
    const journal = new TestJournal().started().add(1, 'step.started', { stepId: 'restore-1', attempt: 1 });
    const record = sessionRecordOf({ ...journal.reading(), torn: { line: 3, text: '{"seq":3,"at":"2026-' } });
    expect(record.warnings).toEqual([expect.stringContaining('last line (line 3) is incomplete')]);
    // Nothing says the step ended: it ran as far as the journal knows.
    expect(record.attempts[0]).toMatchObject({ status: 'running' });
  });

  it('shows escape sequences and control characters in anything it takes from the journal', () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'chat.message', { from: { role: 'sentinel', name: 'm\x1b[2Jei' }, text: 'hi\x1b]0;owned\x07 there\nsecond\x07 line' });
    const [message] = sessionRecordOf(journal.reading()).chat;
    expect(message).toEqual({ from: { role: 'sentinel', name: 'm^[[2Jei' }, text: 'hi^[]0;owned^G there\nsecond^G line', at: TEST_START + 1000 });
  });

  it("tells a shell by hand whose recording stopped early, the error's controls shown", () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'shell.opened', { host: 'dragon', where: 'root@10.0.0.1', by: actor, stepId: null, file: 'shells/1-dragon.log', cast: 'shells/1-dragon.cast' })
      .add(9, 'shell.closed', {
        host: 'dragon',
        file: 'shells/1-dragon.log',
        exitCode: 0,
        cut: false,
        bytes: 31,
        durationMs: 8000,
        recordingError: 'ENOSPC: no space left on device, write\x1b[2J',
      });
    const record = sessionRecordOf(journal.reading());
    expect(record.shells?.[0]?.end).toMatchObject({ exitCode: 0, recordingError: 'ENOSPC: no space left on device, write\x1b[2J' });
    expect(record.events.at(-1)?.text).toBe('shell on dragon exited 0 (its recording stopped before: ENOSPC: no space left on device, write^[[2J) after 8.0s');
    expect(record.warnings).toEqual([]);
  });

  it('tells of steps held for hands on site, released, or gone on with by an override', () => {
    const journal = new TestJournal()
      .started()
      .add(1, 'step.held', { stepId: 'cutover-1', why: 'no sentinel has joined' })
      .add(3, 'step.released', { stepId: 'cutover-1' })
      .add(4, 'step.held', { stepId: 'restore-2', why: 'the sentinel is away' })
      .add(5, 'decision', { stepId: 'restore-2', action: 'override', by: actor, reason: 'nothing to touch on site' })
      .add(5, 'decision', { stepId: 'restore-2', action: 'something-newer', by: actor });
    const record = sessionRecordOf(journal.reading());
    expect(record.events.filter((event) => event.type.startsWith('step.')).map((event) => event.text)).toEqual([
      'step 2.1 held: it needs hands on site (no sentinel has joined)',
      'step 2.1 released: hands on site',
      'step 1.2 held: it needs hands on site (the sentinel is away)',
    ]);
    expect(record.decisions).toEqual([
      { stepId: 'restore-2', action: 'override', by: actor, reason: 'nothing to touch on site', at: TEST_START + 5000 },
      { stepId: 'restore-2', action: 'something-newer', by: actor, at: TEST_START + 5000 },
    ]);
  });

  it('tells a login of the check before the run, and why a kept link the run never used is gone', () => {
    const journal = new TestJournal().started().add(0, 'host.state', { host: 'h001', state: 'connected', loggedInBy: 'check' }).add(5, 'host.state', {
      host: 'h001',
      state: 'idle',
      error: 'the link kept from the check dropped before a step used it (the connection was closed by the server)',
    });
    const texts = sessionRecordOf(journal.reading())
      .events.filter((event) => event.type === 'host.state')
      .map((event) => event.text);
    expect(texts).toEqual([
      'h001 connected (logged in by the check before the run)',
      'h001 idle: the link kept from the check dropped before a step used it (the connection was closed by the server)',
    ]);
  });
});
