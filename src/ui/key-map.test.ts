import { describe, expect, it } from 'vitest';
import type { ActionQuery, Actor } from '../engine/events.js';
import type { Focus } from '../engine/view.js';
import { stepOf } from '../../test/support/prompts.js';
import {
  GLOBAL_KEYS,
  helpList,
  hintLines,
  isOffered,
  keyFor,
  keysFor,
  MEANINGS,
  type KeyMeaning,
  parsePlainAnswer,
  plainKeys,
  plainUsage,
  reasonEvent,
  type MeaningName,
} from './key-map.js';
import { activePrompt, type Mode, type Prompt } from './prompt.js';
import type { Question } from './questions.js';

const by: Actor = { role: 'upgrader', name: 'ana' };
const open = () => null;

function promptOf(focus: Focus | null, more: { mode?: Mode; question?: Question; outcome?: 'completed'; relaysAllowed?: boolean } = {}): Prompt {
  return activePrompt({
    mode: more.mode ?? { kind: 'normal' },
    question: more.question,
    focus,
    outcome: more.outcome ?? null,
    stepOf,
    relaysAllowed: more.relaysAllowed ?? false,
  });
}

const hostKey = {
  kind: 'host-key',
  key: { host: 'dragon', address: '127.0.0.1', port: 22, keyType: 'ed25519', fingerprint: 'x' },
  answer: () => {},
} as Question;
const passphrase: Question = { kind: 'passphrase', keyFile: '/k', retry: false, answer: () => {} };
const failed = (more: Partial<Extract<Focus, { waitingFor: 'decision' }>> = {}): Focus => ({
  stepId: 'parts',
  waitingFor: 'decision',
  error: 'exit 1',
  interrupted: false,
  ...more,
});

/** One prompt of every kind and every variant whose keys differ. */
const PROMPTS: Record<string, Prompt> = {
  'host key': promptOf(null, { question: hostKey }),
  passphrase: promptOf(null, { question: passphrase }),
  reason: promptOf(null, { mode: { kind: 'reason', action: 'skip', stepId: 'parts' } }),
  chat: promptOf(null, { mode: { kind: 'chat' } }),
  search: promptOf(null, { mode: { kind: 'search' } }),
  'confirm cancel': promptOf({ stepId: 'parts', waitingFor: 'running' }, { mode: { kind: 'confirm-cancel', stepId: 'parts' } }),
  'confirm stop attempt': promptOf(failed({ attemptMayRun: 1 }), { mode: { kind: 'confirm-stop-attempt', stepId: 'parts' } }),
  'confirm stop': promptOf(null, { mode: { kind: 'confirm-stop' } }),
  approval: promptOf({ stepId: 'parts', waitingFor: 'approval', text: 'disk0' }),
  'approval of pause': promptOf({ stepId: 'parts', waitingFor: 'approval', text: 'pause' }),
  confirmation: promptOf({ stepId: 'modem', waitingFor: 'confirmation', roles: ['upgrader'] }),
  'typed confirmation': promptOf({ stepId: 'typed', waitingFor: 'confirmation', roles: ['upgrader'] }),
  "the sentinel's confirmation": promptOf({ stepId: 'lights', waitingFor: 'confirmation', roles: ['sentinel'] }),
  'a relayed confirmation': promptOf({ stepId: 'lights', waitingFor: 'confirmation', roles: ['sentinel'] }, { relaysAllowed: true }),
  'asked of the site': promptOf({ stepId: 'boot', waitingFor: 'confirmation', roles: ['sentinel'], request: 'look at it' }, { relaysAllowed: true }),
  failed: promptOf(failed()),
  interrupted: promptOf(failed({ interrupted: true })),
  'interrupted reboot': promptOf(failed({ stepId: 'boot', interrupted: true })),
  'failed reboot': promptOf(failed({ stepId: 'boot' })),
  'attempt may run': promptOf(failed({ attemptMayRun: 1 })),
  held: promptOf({ stepId: 'parts', waitingFor: 'hands', why: 'no sentinel has joined' }),
  running: promptOf({ stepId: 'parts', waitingFor: 'running' }),
  'running, looking at an attempt': promptOf({ stepId: 'parts', waitingFor: 'running', doing: 'looking at attempt 1' }),
  finished: promptOf(null, { outcome: 'completed' }),
  idle: promptOf(null),
  'failed host': { kind: 'host-decision', step: stepOf('parts'), phase: 'update', host: 'vm6', error: 'exit 1', more: 1, fallback: true, typing: false },
  'failed host without a fallback': {
    kind: 'host-decision',
    step: stepOf('parts'),
    phase: 'update',
    host: 'vm6',
    error: 'exit 1',
    more: 0,
    fallback: false,
    typing: false,
  },
  'running in a rollout': { kind: 'running', step: stepOf('parts'), rollout: 'update', typing: false },
  'halted rollout': {
    kind: 'confirmation',
    step: stepOf('modem'),
    role: 'upgrader',
    pending: ['upgrader'],
    relayable: true,
    rollout: { phase: 'update', kind: 'halt', failed: ['vm6'] },
    typing: false,
  },
};

const every = Object.entries(PROMPTS).flatMap(([name, prompt]) =>
  [true, false].map((chat) => ({ name: `${name}${chat ? '' : ' (no chat)'}`, prompt, keys: keysFor(prompt, { by, chat }) })),
);

/** The key names a hint line shows ("r retry · Esc or Tab goes back · PgUp/PgDn scroll" → r, Esc, PgUp). */
function hintedKeys(lines: string[]): string[] {
  return lines.flatMap((line) => line.split(' · ').map((part) => part.split(/[ /]/)[0]!));
}

describe('the key map', () => {
  it('covers every prompt kind', () => {
    const kinds = new Set(Object.values(PROMPTS).map((prompt) => prompt.kind));
    expect([...kinds].sort()).toEqual(
      [
        'approval',
        'chat',
        'confirm-cancel',
        'confirm-stop',
        'confirm-stop-attempt',
        'confirmation',
        'decision',
        'finished',
        'held',
        'host-decision',
        'idle',
        'question',
        'reason',
        'running',
        'search',
      ].sort(),
    );
  });

  it.each(every)('$name: each key does one thing, and the hint shows exactly the keys offered', ({ keys }) => {
    for (const key of keys) for (const name of key.keys) expect(keyFor(keys, name), `${name} is pressed for ${key.meaning}`).toBe(key);
    const hinted = keys.filter((key) => key.keys.length > 0 && key.hint !== '' && isOffered(key, open));
    expect(hintedKeys(hintLines(keys, open))).toEqual(hinted.map((key) => key.keys[0]));
    // Keys that only say something in the hint are handled before any prompt's (scrolling, the list).
    for (const key of keys.filter((each) => each.does.kind === 'global')) {
      expect(
        GLOBAL_KEYS.some((global) => key.keys.every((name) => global.keys.includes(name))),
        key.meaning,
      ).toBe(true);
    }
  });

  // Esc and Ctrl-C are shared on purpose (each screen's Esc goes back; Ctrl-C asks first).
  it.each(every)('$name: no letter of its own is one that works on every screen (j k look back)', ({ keys }) => {
    const global = new Set(GLOBAL_KEYS.flatMap((key) => key.keys).filter((name) => name.length === 1));
    for (const key of keys.filter((each) => each.does.kind !== 'global')) {
      for (const name of key.keys) expect(global.has(name), `${name} (${key.meaning}) is also a key of every screen`).toBe(false);
    }
  });

  it('lists every meaning in the help, and every meaning listed is used somewhere', () => {
    const listed = helpList();
    const used = new Set<MeaningName>([...every.flatMap(({ keys }) => keys.map((key) => key.meaning)), ...GLOBAL_KEYS.map((key) => key.meaning)]);
    for (const meaning of used) expect(listed).toContainEqual([MEANINGS[meaning].shown, MEANINGS[meaning].help]);
    expect(listed).toHaveLength(Object.keys(MEANINGS).length);
    expect([...used].sort()).toEqual(Object.keys(MEANINGS).sort());
    expect(listed.some(([shown]) => shown === 'Ctrl-C twice')).toBe(true);
  });

  it('hints what the screens have always said', () => {
    const hint = (name: string, whyNot: (query: ActionQuery) => string | null = open) => hintLines(keysFor(PROMPTS[name]!, { by, chat: true }), whyNot);
    expect(hint('failed')).toEqual(['r retry · s skip (with a reason) · f fall back (with a reason) · p pause · t chat']);
    expect(hint('attempt may run')[0]).toMatch(/^a attach to it again · x stop it \(asks first\) · r retry once it has ended · s skip/);
    expect(hint('interrupted reboot')[0]).toMatch(/^r wait for it and verify it · d it is done: verify it now \(with a reason\) · s skip/);
    expect(hint('failed reboot')[0]).toMatch(/^r keep waiting · a ask the sentinel to look at it · s skip/);
    expect(hint('held')).toEqual(['o go on without them (with a reason) · F fall back · p pause · t chat']);
    // p pauses while a step runs: the hint says so now.
    expect(hint('running')).toEqual(['c stop it · t chat · F fall back · p pause · PgUp/PgDn scroll · ? keys']);
    expect(hint('running, looking at an attempt')).toEqual(['t chat · PgUp/PgDn scroll · ? keys']);
    expect(hint('approval')).toEqual(['Esc clears · Tab chat · Ctrl-P pauses the run']);
    expect(hint('confirmation')).toEqual(['y confirm · t write to the site · p pause · F fall back']);
    expect(hint('a relayed confirmation')).toEqual(['y confirm for the sentinel · t write to the site · p pause · F fall back']);
    expect(hint("the sentinel's confirmation")).toEqual(['t write to the site · p pause · F fall back']);
    expect(hint('asked of the site')).toEqual([
      'r keep waiting without them · s skip (with a reason)',
      'y confirm for the sentinel · t write to the site · p pause · F fall back',
    ]);
    expect(hint('confirm cancel')).toEqual(['y stop it · n keep it running']);
    expect(hint('host key')).toEqual(['y trust it and record it in known_hosts · n refuse']);
    expect(hint('chat')).toEqual(['Enter sends · Esc or Tab goes back · PgUp/PgDn scroll the chat · Ctrl-P pauses the run']);
    expect(hint('failed host')).toEqual(['r retry on vm6 · s skip vm6 · f fall back vm6 · x stop the rollout · F fall back all · p pause · t chat']);
    expect(hint('failed host without a fallback')).toEqual(['r retry on vm6 · s skip vm6 · x stop the rollout · F fall back all · p pause · t chat']);
    expect(hint('running in a rollout')).toEqual(['c stop it · t chat · x stop the rollout · F fall back · p pause · PgUp/PgDn scroll · ? keys']);
    const stop = keyFor(keysFor(PROMPTS['running in a rollout']!, { by, chat: false }), 'x')!.does;
    expect(stop.kind === 'reason' && stop.event('enough for tonight')).toEqual({ type: 'STOP_ROLLOUT', phase: 'update', by, reason: 'enough for tonight' });
    // Where a shell by hand helps, when the view can open one.
    const withShell = (name: string) => hintLines(keysFor(PROMPTS[name]!, { by, chat: true, shell: true }), open);
    expect(withShell('failed')).toEqual(['r retry · s skip (with a reason) · f fall back (with a reason) · p pause · t chat · ! shell']);
    expect(withShell('approval')).toEqual(['Esc clears · Tab chat · Ctrl-P pauses the run · ! shell (before typing)']);
    expect(withShell('failed host')[0]).toMatch(/ · t chat · ! shell on vm6$/);
    expect(withShell('running')).toEqual(hint('running'));
    expect(hint('halted rollout')).toEqual(['y continue the rollout · t write to the site · p pause · F fall back all']);
  });

  it('sends the rollout actions for the failed host, with its phase', () => {
    const keys = keysFor(PROMPTS['failed host']!, { by, chat: false });
    const event = (name: string) => {
      const does = keyFor(keys, name)!.does;
      return does.kind === 'reason' ? does.event('disk full') : null;
    };
    expect(event('s')).toEqual({ type: 'SKIP_HOST', phase: 'update', host: 'vm6', by, reason: 'disk full' });
    expect(event('f')).toEqual({ type: 'FALLBACK_HOST', phase: 'update', host: 'vm6', by, reason: 'disk full' });
    expect(event('x')).toEqual({ type: 'STOP_ROLLOUT', phase: 'update', host: 'vm6', by, reason: 'disk full' });
    expect(event('F')).toEqual({ type: 'FALLBACK', by, reason: 'disk full' });
    expect(keyFor(keys, 'r')!.query).toEqual({ type: 'RETRY', stepId: 'parts', by });
    // The engine's refusal hides a key: a rollout already stopping is not stopped twice.
    const stopping = (query: ActionQuery) => (query.type === 'STOP_ROLLOUT' ? 'the rollout of phase update is already stopping after this batch' : null);
    expect(hintLines(keys, stopping)[0]).not.toContain('x stop');
  });

  it("offers only what the engine would take, and says the engine's reason", () => {
    const noFallback = (query: ActionQuery) => (query.type === 'FALLBACK' ? 'this runbook has no fallback steps' : null);
    const keys = keysFor(PROMPTS['failed']!, { by, chat: false });
    expect(hintLines(keys, noFallback)).toEqual(['r retry · s skip (with a reason) · p pause']);
    expect(plainUsage(keys, noFallback)).toBe('retry | skip REASON | pause');
    // The key is still the fallback's: pressed, it asks the engine (which says why not) instead of nothing happening.
    expect(keyFor(keys, 'F')?.query).toEqual({ type: 'FALLBACK', by, reason: undefined });
    expect(keyFor(keys, 'f')).toBe(keyFor(keys, 'F'));
  });

  it('never asks the engine about a running step pause: the run is suspended instead', () => {
    expect(keyFor(keysFor(PROMPTS['running']!, { by, chat: false }), 'p')).toMatchObject({ does: { kind: 'pause' } });
    expect(keyFor(keysFor(PROMPTS['running']!, { by, chat: false }), 'p')?.query).toBeUndefined();
  });
});

describe("plain mode's words", () => {
  const usage = (name: string) => plainUsage(keysFor(PROMPTS[name]!, { by, chat: true }), open);

  it('are the Answer lines plain mode has always printed', () => {
    expect(usage('failed')).toBe('retry | skip REASON | fallback REASON | pause');
    expect(usage('interrupted')).toBe('retry (run it again) | done REASON | skip REASON | fallback REASON | pause');
    expect(usage('interrupted reboot')).toBe('retry (wait for it and verify it) | done REASON (verify it now) | skip REASON | fallback REASON | pause');
    expect(usage('failed reboot')).toBe(
      'retry (keep waiting) | ask [TEXT] (the sentinel looks at it; their /ok keeps waiting) | skip REASON | fallback REASON | pause',
    );
    expect(usage('attempt may run')).toBe(
      'reattach (follow it again) | stop (TERM it; asks first) | retry (once it has ended) | skip REASON | fallback REASON | pause',
    );
    expect(usage('held')).toBe('override REASON (go on without them) | fallback REASON | pause');
    expect(usage('failed host')).toBe('retry | skip REASON | fallback REASON | stop-rollout REASON | fallback-all REASON | pause');
    expect(usage('halted rollout')).toBe('yes (continue the rollout) | fallback-all REASON | say TEXT | pause');
    expect(usage('asked of the site')).toBe(
      'yes (you record their answer) | retry (keep waiting without them) | skip REASON | fallback REASON | say TEXT | pause',
    );
  });

  it.each(every)('$name: each word, short or long, reads as the key that the screen would press', ({ prompt, keys }) => {
    for (const key of plainKeys(keys)) {
      if (key.meaning === 'chat') continue; // `say TEXT` is read before the key map
      const meaning: KeyMeaning = MEANINGS[key.meaning];
      const words = meaning.words ?? [];
      for (const word of words) {
        const answer = meaning.argument ? `${word} the modem is in` : word;
        // A field takes its text: only the first word of an answer without a reason leaves it.
        if (keys.some((each) => each.keys.includes('Enter') && each.does.kind === 'send') && !meaning.argument && word !== words[0]) continue;
        const parsed = parsePlainAnswer(keys, answer);
        expect(parsed, `${answer} in ${prompt.kind}`).toMatchObject({ key });
        if (key.does.kind === 'reason') {
          // The event plain mode sends is the one the full-screen reason field sends.
          expect(key.does.event('the modem is in')).toEqual(reasonEvent(key.does.action, key.does.stepId, by, 'the modem is in', key.does.target));
        }
      }
    }
  });

  it('takes a field’s text as the answer, unless it is pause and pause is not the text asked for', () => {
    const approval = keysFor(PROMPTS['approval']!, { by, chat: false });
    expect(parsePlainAnswer(approval, 'pause')).toMatchObject({ key: { meaning: 'pause' } });
    const typed = parsePlainAnswer(approval, 'p');
    expect('key' in typed && typed.key.does.kind === 'send' && typed.key.does.event(typed.argument)).toEqual({
      type: 'APPROVE',
      stepId: 'parts',
      by,
      value: 'p',
    });
    const pauseAsked = keysFor(PROMPTS['approval of pause']!, { by, chat: false });
    expect(parsePlainAnswer(pauseAsked, 'pause')).toMatchObject({ key: { meaning: 'submit' }, argument: 'pause' });
  });

  it('knows no word that is not offered for the prompt', () => {
    const held = keysFor(PROMPTS['held']!, { by, chat: false });
    expect(parsePlainAnswer(held, 'retry')).toEqual({ unknown: 'retry' });
    expect(parsePlainAnswer(keysFor(PROMPTS['failed']!, { by, chat: false }), 'reattach')).toEqual({ unknown: 'reattach' });
    expect(parsePlainAnswer(keysFor(PROMPTS['failed']!, { by, chat: false }), 'override now')).toEqual({ unknown: 'override now' });
  });

  it('sends a sentinel confirmation to the engine even though it is not offered, so the engine answers and journals it', () => {
    const keys = keysFor(PROMPTS["the sentinel's confirmation"]!, { by, chat: false });
    const parsed = parsePlainAnswer(keys, 'yes');
    expect(parsed).toMatchObject({ key: { meaning: 'confirm', offered: false } });
    expect(plainUsage(keys, open)).not.toContain('yes');
  });
});
