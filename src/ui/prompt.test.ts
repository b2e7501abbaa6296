import { describe, expect, it } from 'vitest';
import type { Focus } from '../engine/view.js';
import { stepOf } from '../../test/support/prompts.js';
import { activePrompt, type Mode } from './prompt.js';
import type { Question } from './questions.js';

const hostKey: Question = {
  kind: 'host-key',
  key: { host: 'dragon', address: '127.0.0.1', port: 22, keyType: 'ssh-ed25519', fingerprint: 'SHA256:x' },
  answer: () => {},
} as Question;
const passphrase: Question = { kind: 'passphrase', keyFile: '/k', retry: false, answer: () => {} };

function prompt(args: {
  mode?: Mode;
  question?: Question;
  focus?: Focus | null;
  outcome?: 'completed' | 'paused' | 'fell-back' | null;
  relaysAllowed?: boolean;
}) {
  return activePrompt({
    mode: args.mode ?? { kind: 'normal' },
    question: args.question,
    focus: args.focus ?? null,
    outcome: args.outcome ?? null,
    stepOf,
    relaysAllowed: args.relaysAllowed ?? false,
  });
}

describe('activePrompt', () => {
  const running: Focus = { stepId: 'parts', waitingFor: 'running' };
  const failed: Focus = { stepId: 'parts', waitingFor: 'decision', error: 'exit 1', interrupted: false, attemptMayRun: 2 };

  it('puts a second Ctrl-C above everything, then an SSH question, then the chat', () => {
    expect(prompt({ mode: { kind: 'confirm-stop' }, question: hostKey, focus: running })).toEqual({ kind: 'confirm-stop', typing: false });
    expect(prompt({ question: hostKey, focus: running, mode: { kind: 'chat' } })).toMatchObject({ kind: 'question', typing: false });
    expect(prompt({ question: passphrase })).toMatchObject({ kind: 'question', typing: true });
    expect(prompt({ mode: { kind: 'chat' }, focus: running, outcome: 'completed' })).toEqual({ kind: 'chat', typing: true });
  });

  it('shows the outcome once the run has ended, before a reason being typed', () => {
    expect(prompt({ outcome: 'paused', mode: { kind: 'reason', action: 'skip', stepId: 'parts' } })).toEqual({
      kind: 'finished',
      outcome: 'paused',
      scope: null,
      typing: false,
    });
    expect(prompt({ mode: { kind: 'reason', action: 'fallback', stepId: null }, focus: failed })).toEqual({
      kind: 'reason',
      action: 'fallback',
      stepId: null,
      typing: true,
    });
  });

  it('asks "are you sure" only while the step it is about is still where it was', () => {
    expect(prompt({ mode: { kind: 'confirm-cancel', stepId: 'parts' }, focus: running })).toMatchObject({ kind: 'confirm-cancel', typing: false });
    // The step ended meanwhile: the question goes, the step's own prompt comes.
    expect(prompt({ mode: { kind: 'confirm-cancel', stepId: 'parts' }, focus: failed })).toMatchObject({ kind: 'decision' });
    expect(prompt({ mode: { kind: 'confirm-stop-attempt', stepId: 'parts' }, focus: failed })).toMatchObject({ kind: 'confirm-stop-attempt', attempt: 2 });
    const settled: Focus = { ...failed, attemptMayRun: undefined } as Focus;
    delete (settled as { attemptMayRun?: number }).attemptMayRun;
    expect(prompt({ mode: { kind: 'confirm-stop-attempt', stepId: 'parts' }, focus: settled })).toMatchObject({ kind: 'decision' });
    expect(prompt({ mode: { kind: 'confirm-stop-attempt', stepId: 'parts' }, focus: running })).toMatchObject({ kind: 'running' });
  });

  it('is idle with nothing in focus', () => {
    expect(prompt({})).toEqual({ kind: 'idle', typing: false });
  });

  it('takes a typed approval, its text made visible', () => {
    expect(prompt({ focus: { stepId: 'parts', waitingFor: 'approval', text: 'disk\n0\x1b[2J' } })).toMatchObject({
      kind: 'approval',
      text: 'disk^J0^[[2J',
      typing: true,
    });
  });

  it('lets the upgrader confirm their own checkpoint, a sentinel one only with relays allowed', () => {
    const own = prompt({ focus: { stepId: 'modem', waitingFor: 'confirmation', roles: ['upgrader'] } });
    expect(own).toMatchObject({ kind: 'confirmation', role: 'upgrader', relayable: true, typing: false });
    expect(prompt({ focus: { stepId: 'typed', waitingFor: 'confirmation', roles: ['upgrader'] } })).toMatchObject({
      confirmText: 'dragon',
      relayable: true,
      typing: true,
    });
    const theirs: Focus = { stepId: 'lights', waitingFor: 'confirmation', roles: ['sentinel'] };
    expect(prompt({ focus: theirs })).toMatchObject({ role: 'sentinel', relayable: false, typing: false });
    expect(prompt({ focus: theirs, relaysAllowed: true })).toMatchObject({ role: 'sentinel', relayable: true, pending: ['sentinel'] });
  });

  it('says what the site was asked about a failed step', () => {
    const asked = prompt({ focus: { stepId: 'boot', waitingFor: 'confirmation', roles: ['sentinel'], request: 'look\x07 at it' } });
    expect(asked).toMatchObject({ kind: 'confirmation', request: 'look^G at it', relayable: false });
    expect(asked).not.toHaveProperty('confirmText');
  });

  it('asks for a decision, a running step, a held one', () => {
    expect(prompt({ focus: failed })).toMatchObject({ kind: 'decision', error: 'exit 1', interrupted: false, attemptMayRun: 2, typing: false });
    expect(prompt({ focus: { stepId: 'parts', waitingFor: 'decision', error: 'gone', interrupted: true } })).not.toHaveProperty('attemptMayRun');
    expect(prompt({ focus: { stepId: 'parts', waitingFor: 'running', doing: 'looking at attempt 1' } })).toMatchObject({
      kind: 'running',
      doing: 'looking at attempt 1',
    });
    expect(prompt({ focus: running })).not.toHaveProperty('doing');
    expect(prompt({ focus: { stepId: 'parts', waitingFor: 'hands', why: 'no sentinel\nhas joined' } })).toMatchObject({
      kind: 'held',
      why: 'no sentinel^Jhas joined',
      typing: false,
    });
  });
});
