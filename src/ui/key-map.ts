// What each key (and each word of plain mode) does, for every prompt: the one table the
// full-screen keys, their hints, the help list and plain mode's answers are all read from.
// Which actions are open is the engine's to say (Run.whyNot): a key is offered only when
// its action would be taken, and pressed anyway it is answered with the engine's reason.
import type { ActionQuery, Actor, HumanEvent } from '../engine/events.js';
import { rebootSiteRequest, stepLabel, stepPlace } from '../text/steps.js';
import type { HostTarget, Mode, Prompt, ReasonAction } from './prompt.js';

/** What a key means, wherever it is pressed: its name in the help list and plain mode's words. */
export interface KeyMeaning {
  /** How the key is shown in the help list. */
  shown: string;
  help: string;
  /** Plain mode's words for it (the first is the one shown), when plain mode has it. */
  words?: readonly string[];
  /** What plain mode expects after the word. */
  argument?: 'REASON' | '[TEXT]' | 'TEXT';
}

export const MEANINGS = {
  help: { shown: '?', help: 'show or hide this list (in a text field: before typing)' },
  hideHelp: { shown: 'Esc', help: 'hide this list' },
  retry: { shown: 'r', help: 'retry the failed step (a reboot: keep waiting; an attempt that may still run: once it has ended)', words: ['retry', 'r'] },
  reattach: { shown: 'a', help: 'an attempt that may still run on its host: attach to it again (same attempt, output goes on)', words: ['reattach'] },
  askSite: {
    shown: 'a',
    help: 'a reboot that did not come back: ask the sentinel to look at it (their /ok keeps waiting)',
    words: ['ask', 'a'],
    argument: '[TEXT]',
  },
  stopAttempt: { shown: 'x', help: 'an attempt that may still run on its host: stop it (TERM to its process group; asks first)', words: ['stop'] },
  skip: { shown: 's', help: 'skip the failed step (asks for a reason, journaled)', words: ['skip', 's'], argument: 'REASON' },
  fallBack: { shown: 'f', help: 'fall back from a failed step (asks for a reason)', words: ['fallback', 'f'], argument: 'REASON' },
  fallBackAnywhere: { shown: 'F', help: 'fall back now, from anywhere (asks for a reason)', words: ['fallback', 'f'], argument: 'REASON' },
  retryHost: { shown: 'r', help: "a rollout: retry the failed host's step", words: ['retry', 'r'] },
  skipHost: {
    shown: 's',
    help: 'a rollout: skip the failed host, left as it is (counts as failed; asks for a reason)',
    words: ['skip', 's'],
    argument: 'REASON',
  },
  fallBackHost: {
    shown: 'f',
    help: "a rollout: run the failed host's own fallback (counts as failed; asks for a reason)",
    words: ['fallback', 'f'],
    argument: 'REASON',
  },
  stopRollout: {
    shown: 'x',
    help: 'a rollout: start no more batches, leave the failed host as it is; the others of the batch finish (asks for a reason)',
    words: ['stop-rollout', 'x'],
    argument: 'REASON',
  },
  fallBackAll: { shown: 'F', help: 'fall back all: the whole run, every host of a rollout (asks for a reason)', words: ['fallback-all'], argument: 'REASON' },
  selectHost: { shown: '← →', help: 'a rollout: select the previous or next host (its steps, its output); past either end follows the rollout again' },
  pause: { shown: 'p', help: 'pause: save and leave (a running detached step goes on); nightshift resume goes on', words: ['pause', 'p'] },
  markDone: {
    shown: 'd',
    help: 'after a resume: the interrupted step did finish (asks for a reason; a reboot is verified first)',
    words: ['done', 'd'],
    argument: 'REASON',
  },
  confirm: { shown: 'y', help: 'confirm a checkpoint that asks for no text; yes to a question (stop it, trust a host key)', words: ['yes', 'y'] },
  no: { shown: 'n', help: 'no to a question (keep it running, refuse a host key)' },
  override: {
    shown: 'o',
    help: 'a step held for hands on site: go on without them (asks for a reason, journaled)',
    words: ['override', 'o'],
    argument: 'REASON',
  },
  submit: { shown: 'Enter', help: 'submit typed text (destructive steps, checkpoints, reasons)' },
  clear: { shown: 'Esc', help: 'clear typed text, or go back from a reason' },
  pauseTyping: { shown: 'Ctrl-P', help: 'pause while typing' },
  cancel: { shown: 'c', help: 'stop the running step (then decide)' },
  chat: { shown: 't  Tab', help: 'write to the site (chat; /away, /back, /code for a new join code; Esc goes back)', words: ['say'], argument: 'TEXT' },
  scroll: { shown: 'PgUp PgDn ↑ ↓', help: 'scroll the output back and forth' },
  scrollChat: { shown: 'PgUp PgDn in the chat', help: 'while writing to the site (t): scroll the chat back and forth; End shows the newest' },
  history: {
    shown: 'j k',
    help: 'look back: the next or previous step, its output from its log (every attempt); End follows the run again',
  },
  goto: { shown: '1-9', help: 'look back at a step by its number: type it as the runbook panel shows it (2.1, F1, 3.F2) and press Enter' },
  follow: { shown: 'End', help: 'follow the output again (and the run, after looking back)' },
  search: {
    shown: '/ n N',
    help: 'search the output shown (as in less): / and the text, n the match before, N the one after; Esc in the field goes back',
  },
  shell: {
    shown: '!',
    help: 'a shell on the host of the step shown (your login shell; the run goes on meanwhile; also before typing what a step asks for): recorded to the session, in the journal and the report; exit comes back, Enter ~. cuts it off',
  },
  extendGuard: {
    shown: '+',
    help: 'while a guard is armed: its deadline 5 minutes later on every host still armed (journaled; also before typing)',
  },
  wrap: { shown: 'w', help: 'long output lines: wrap them whole, or cut them at the width (the log keeps them whole)' },
  leave: { shown: 'q', help: 'leave when the run has ended' },
  stopNightshift: { shown: 'Ctrl-C twice', help: 'stop nightshift now' },
} as const satisfies Record<string, KeyMeaning>;

export type MeaningName = keyof typeof MEANINGS;

/** What a key does once it is open. */
export type KeyDoes =
  /** Sends this event; `argument`: what plain mode's answer had after the word. */
  | { kind: 'send'; event: (argument: string) => HumanEvent }
  /** Asks for a reason first (a field in the full-screen view, the rest of the answer in plain mode). */
  | { kind: 'reason'; action: ReasonAction; stepId: string | null; target?: HostTarget; event: (reason: string) => HumanEvent }
  /** Asks "are you sure" first: the full-screen view opens `mode`, plain mode asks `question` for a yes. */
  | { kind: 'ask-first'; mode: Mode; question: string; event: HumanEvent }
  /** Saves and leaves (a running step goes on on its host). */
  | { kind: 'pause' }
  | { kind: 'chat' }
  /** Submits the typed text, clears it or goes back from the field. */
  | { kind: 'submit' }
  | { kind: 'clear' }
  | { kind: 'back' }
  /** Answers the SSH question on screen (trust the host key or not). */
  | { kind: 'answer'; yes: boolean }
  | { kind: 'leave' }
  /** Only says something (q before the run has ended). */
  | { kind: 'say'; text: string }
  /** Shown in the hint, handled before any prompt's keys (scrolling, the help list). */
  | { kind: 'global' };

export interface KeyEntry {
  meaning: MeaningName;
  /** Key names as `keyName` gives them; pressing any of them does this. */
  keys: readonly string[];
  /** The hint after the key ("retry", "keep waiting"); '' where the prompt's own sentence says it (Type "..." and press Enter). */
  hint: string;
  /** Plain mode's note after its word, when it needs one: retry (keep waiting). */
  note?: string;
  /** Shown as in the hint, when not the first key (PgUp/PgDn). */
  shownKeys?: string;
  /**
   * The engine action it leads to: open only when Run.whyNot(query) is null. A reason is
   * left undefined (is the action open at all); a typed text is not asked about, it is sent.
   */
  query?: ActionQuery;
  /**
   * Whether the upgrader is offered it at all: a checkpoint only the site may confirm is
   * not. Pressed anyway, its event goes to the engine, which answers it (and journals that).
   */
  offered?: boolean;
  /** Plain mode has it as a word (default: when its meaning has words). */
  plain?: boolean;
  /** The first of two hint lines (what was asked of the site). */
  firstLine?: boolean;
  does: KeyDoes;
}

export interface KeyContext {
  by: Actor;
  /** The upgrader has a chat with the site. */
  chat: boolean;
  /** `!` opens a shell by hand (hinted where one helps: a failed step, a destructive one before typing). */
  shell?: boolean;
}

const entry = (meaning: MeaningName, keys: readonly string[], hint: string, does: KeyDoes, more: Partial<KeyEntry> = {}): KeyEntry => ({
  meaning,
  keys,
  hint,
  does,
  ...more,
});

/** The event a reason prompt sends once its reason is typed; `target`: the host of a rollout it is about. */
export function reasonEvent(
  action: ReasonAction,
  stepId: string | null,
  by: Actor,
  reason: string,
  target?: HostTarget,
): Extract<HumanEvent, { reason: string }> | null {
  if (action === 'fallback') return { type: 'FALLBACK', by, reason };
  if (action === 'skip-host' || action === 'fallback-host' || action === 'stop-rollout') {
    if (!target) return null;
    if (action === 'stop-rollout')
      return { type: 'STOP_ROLLOUT', phase: target.phase, ...(target.host !== undefined ? { host: target.host } : {}), by, reason };
    if (target.host === undefined) return null;
    return { type: action === 'skip-host' ? 'SKIP_HOST' : 'FALLBACK_HOST', phase: target.phase, host: target.host, by, reason };
  }
  if (stepId === null) return null;
  if (action === 'skip') return { type: 'SKIP', stepId, by, reason };
  if (action === 'mark-done') return { type: 'MARK_DONE', stepId, by, reason };
  return { type: 'OVERRIDE_HOLD', stepId, by, reason };
}

const SCROLL_HINT = entry('scroll', ['PgUp', 'PgDn'], 'scroll', { kind: 'global' }, { shownKeys: 'PgUp/PgDn' });
const HELP_HINT = entry('help', ['?'], 'keys', { kind: 'global' });

/** Every key of the upgrader's screen for `prompt`, in the order they are hinted. */
export function keysFor(prompt: Prompt, context: KeyContext): KeyEntry[] {
  const { by } = context;
  const chat = context.chat ? [entry('chat', ['t'], 'chat', { kind: 'chat' }, { plain: false })] : [];
  const shell = (hint: string) => (context.shell ? [entry('shell', ['!'], hint, { kind: 'global' }, { plain: false })] : []);
  const pauseTyping = entry('pauseTyping', ['Ctrl-P'], 'pauses the run', { kind: 'pause' }, { query: { type: 'PAUSE', by }, plain: false });
  const pause = (query: boolean) => entry('pause', ['p'], 'pause', { kind: 'pause' }, query ? { query: { type: 'PAUSE', by } } : {});
  /** A key that asks for a reason; it is open when the action is, before any reason is typed. */
  const withReason = (
    meaning: MeaningName,
    keys: readonly string[],
    hint: string,
    action: ReasonAction,
    stepId: string | null,
    note?: string,
    target?: HostTarget,
  ): KeyEntry => {
    const event = (reason: string) => reasonEvent(action, stepId, by, reason, target)!;
    return entry(
      meaning,
      keys,
      hint,
      { kind: 'reason', action, stepId, event, ...(target ? { target } : {}) },
      { query: { ...event(''), reason: undefined }, ...(note ? { note } : {}) },
    );
  };
  const fallBack = (stepId: string | null, keys: readonly string[] = ['F']): KeyEntry =>
    keys.includes('f')
      ? withReason('fallBack', keys, 'fall back (with a reason)', 'fallback', stepId)
      : withReason('fallBackAnywhere', keys, 'fall back', 'fallback', stepId);
  const skip = (stepId: string): KeyEntry => withReason('skip', ['s'], 'skip (with a reason)', 'skip', stepId);
  const retry = (stepId: string, hint: string, note?: string): KeyEntry =>
    entry(
      'retry',
      ['r'],
      hint,
      { kind: 'send', event: () => ({ type: 'RETRY', stepId, by }) },
      { query: { type: 'RETRY', stepId, by }, ...(note ? { note } : {}) },
    );

  switch (prompt.kind) {
    case 'question':
      if (prompt.question.kind === 'host-key') {
        return [
          entry('confirm', ['y'], 'trust it and record it in known_hosts', { kind: 'answer', yes: true }),
          entry('no', ['n'], 'refuse', { kind: 'answer', yes: false }),
        ];
      }
      return [entry('submit', ['Enter'], 'submits', { kind: 'submit' }), entry('clear', ['Esc'], 'clears', { kind: 'clear' }), pauseTyping];
    case 'reason':
      return [entry('submit', ['Enter'], 'submits', { kind: 'submit' }), entry('clear', ['Esc'], 'goes back', { kind: 'back' }), pauseTyping];
    case 'search':
      return [entry('submit', ['Enter'], 'finds it', { kind: 'submit' }), entry('clear', ['Esc'], 'goes back', { kind: 'back' }), pauseTyping];
    case 'goto':
      return [entry('submit', ['Enter'], 'shows it', { kind: 'submit' }), entry('clear', ['Esc'], 'goes back', { kind: 'back' }), pauseTyping];
    case 'chat':
      return [
        entry('submit', ['Enter'], 'sends', { kind: 'submit' }),
        entry('clear', ['Esc', 'Tab'], 'goes back', { kind: 'back' }, { shownKeys: 'Esc or Tab' }),
        entry('scrollChat', ['PgUp', 'PgDn'], 'scroll the chat', { kind: 'global' }, { shownKeys: 'PgUp/PgDn' }),
        pauseTyping,
      ];
    case 'confirm-cancel':
    case 'confirm-stop-attempt': {
      const stepId = prompt.step.id;
      const event: HumanEvent = prompt.kind === 'confirm-cancel' ? { type: 'CANCEL', stepId, by } : { type: 'STOP_ATTEMPT', stepId, by };
      return [
        entry('confirm', ['y'], 'stop it', { kind: 'send', event: () => event }, { query: event, plain: false }),
        entry('no', ['n', 'Esc'], 'keep it running', { kind: 'back' }),
      ];
    }
    case 'confirm-stop':
      return [entry('stopNightshift', ['Ctrl-C'], '', { kind: 'leave' })];
    case 'approval': {
      const stepId = prompt.step.id;
      return [
        // The typed text is the engine's to judge: a wrong one is sent, refused and journaled.
        entry('submit', ['Enter'], '', { kind: 'send', event: (value) => ({ type: 'APPROVE', stepId, by, value }) }),
        entry('clear', ['Esc'], 'clears', { kind: 'clear' }),
        ...(context.chat ? [entry('chat', ['Tab'], 'chat', { kind: 'chat' }, { plain: false })] : []),
        pauseTyping,
        ...shell('shell (before typing)'),
        // Plain mode answers with the typed text or `pause` (unless pause is the text asked for).
        ...(prompt.text === 'pause' ? [] : [{ ...pause(true), keys: [] }]),
      ];
    }
    case 'confirmation': {
      const stepId = prompt.step.id;
      const { role } = prompt;
      const confirm = (hint: string, note?: string) =>
        entry(
          'confirm',
          prompt.typing ? ['Enter'] : ['y'],
          hint,
          { kind: 'send', event: (value) => ({ type: 'CONFIRM', stepId, role, by, ...(value !== '' || prompt.typing ? { value } : {}) }) },
          { ...(prompt.typing ? {} : { query: { type: 'CONFIRM', stepId, role, by } as const }), offered: prompt.relayable, ...(note ? { note } : {}) },
        );
      const relayed = role !== 'upgrader';
      const asked =
        prompt.request !== undefined
          ? [retry(stepId, 'keep waiting without them', 'keep waiting without them'), skip(stepId)].map((key) => ({ ...key, firstLine: true }))
          : [];
      if (prompt.typing) {
        return [
          // Letters go into the field: what was asked of the site is answered in plain mode only.
          ...asked.map((key) => ({ ...key, keys: [] })),
          confirm(''),
          entry('clear', ['Esc'], 'clears', { kind: 'clear' }),
          ...(context.chat ? [entry('chat', ['Tab'], 'chat', { kind: 'chat' }, { plain: false })] : []),
          pauseTyping,
          ...(prompt.confirmText === 'pause' ? [] : [{ ...pause(true), keys: [] }]),
        ];
      }
      if (prompt.rollout) {
        return [
          confirm('continue the rollout', 'continue the rollout'),
          ...(context.chat ? [entry('chat', ['t'], 'write to the site', { kind: 'chat' })] : []),
          pause(true),
          { ...fallBack(stepId), meaning: 'fallBackAll' as const, hint: 'fall back all' },
        ];
      }
      return [
        ...asked,
        confirm(`confirm${relayed ? ` for the ${role}` : ''}`, prompt.request !== undefined ? 'you record their answer' : undefined),
        ...(context.chat ? [entry('chat', ['t'], 'write to the site', { kind: 'chat' })] : []),
        pause(true),
        fallBack(stepId),
      ];
    }
    case 'decision': {
      const stepId = prompt.step.id;
      const { step } = prompt;
      const markDone = (hint: string, note?: string) => withReason('markDone', ['d'], hint, 'mark-done', stepId, note);
      let first: KeyEntry[];
      if (prompt.interrupted && step.kind === 'reboot') {
        first = [
          retry(stepId, 'wait for it and verify it', 'wait for it and verify it'),
          markDone('it is done: verify it now (with a reason)', 'verify it now'),
        ];
      } else if (prompt.interrupted) {
        first = [retry(stepId, 'run it again', 'run it again'), markDone('it is done (with a reason)')];
      } else if (prompt.attemptMayRun !== undefined) {
        const stop: HumanEvent = { type: 'STOP_ATTEMPT', stepId, by };
        first = [
          entry(
            'reattach',
            ['a'],
            'attach to it again',
            { kind: 'send', event: () => ({ type: 'REATTACH', stepId, by }) },
            {
              query: { type: 'REATTACH', stepId, by },
              note: 'follow it again',
            },
          ),
          entry(
            'stopAttempt',
            ['x'],
            'stop it (asks first)',
            {
              kind: 'ask-first',
              mode: { kind: 'confirm-stop-attempt', stepId },
              question: `Stop attempt ${prompt.attemptMayRun} of ${stepLabel(step)} ${stepPlace(step)}? TERM goes to its process group (the pid in its run folder). Type yes to stop it:`,
              event: stop,
            },
            { query: stop, note: 'TERM it; asks first' },
          ),
          retry(stepId, 'retry once it has ended', 'once it has ended'),
        ];
      } else if (step.kind === 'reboot') {
        first = [
          retry(stepId, 'keep waiting', 'keep waiting'),
          entry(
            'askSite',
            ['a'],
            'ask the sentinel to look at it',
            { kind: 'send', event: (text) => ({ type: 'ASK_SITE', stepId, by, request: text || rebootSiteRequest(step) }) },
            { query: { type: 'ASK_SITE', stepId, by, request: rebootSiteRequest(step) }, note: 'the sentinel looks at it; their /ok keeps waiting' },
          ),
        ];
      } else first = [retry(stepId, 'retry')];
      return [...first, skip(stepId), fallBack(stepId, ['f', 'F']), pause(true), ...chat, ...shell('shell')];
    }
    case 'host-decision': {
      const stepId = prompt.step.id;
      const target = { phase: prompt.phase, host: prompt.host };
      return [
        { ...retry(stepId, `retry on ${prompt.host}`), meaning: 'retryHost' as const },
        withReason('skipHost', ['s'], `skip ${prompt.host}`, 'skip-host', stepId, undefined, target),
        ...(prompt.fallback ? [withReason('fallBackHost', ['f'], `fall back ${prompt.host}`, 'fallback-host', stepId, undefined, target)] : []),
        withReason('stopRollout', ['x'], 'stop the rollout', 'stop-rollout', stepId, undefined, target),
        { ...fallBack(stepId), meaning: 'fallBackAll' as const, hint: 'fall back all' },
        pause(true),
        ...chat,
        ...shell(`shell on ${prompt.host}`),
      ];
    }
    case 'held': {
      const stepId = prompt.step.id;
      return [
        withReason('override', ['o'], 'go on without them (with a reason)', 'override', stepId, 'go on without them'),
        fallBack(stepId),
        pause(true),
        ...chat,
      ];
    }
    case 'running': {
      const stepId = prompt.step.id;
      const cancel: HumanEvent = { type: 'CANCEL', stepId, by };
      return [
        ...(prompt.doing === undefined
          ? [
              entry(
                'cancel',
                ['c'],
                'stop it',
                {
                  kind: 'ask-first',
                  mode: { kind: 'confirm-cancel', stepId },
                  question: `Stop ${stepLabel(prompt.step)} now? Type yes to stop it:`,
                  event: cancel,
                },
                { query: cancel },
              ),
            ]
          : []),
        ...chat,
        ...(prompt.rollout !== undefined
          ? [withReason('stopRollout', ['x'], 'stop the rollout', 'stop-rollout', stepId, undefined, { phase: prompt.rollout })]
          : []),
        ...(prompt.doing === undefined ? [fallBack(stepId)] : []),
        // While a step runs the engine takes no PAUSE: the run is suspended, the step goes on on its host.
        ...(prompt.doing === undefined ? [pause(false)] : []),
        SCROLL_HINT,
        HELP_HINT,
      ];
    }
    case 'finished':
      return [
        entry('leave', ['q', 'Enter'], 'leave', { kind: 'leave' }),
        entry('scroll', ['PgUp', 'PgDn'], 'scroll the output', { kind: 'global' }, { shownKeys: 'PgUp/PgDn' }),
        ...chat,
      ];
    case 'idle':
      return [pause(false), ...chat, entry('leave', ['q'], '', { kind: 'say', text: 'the run has not ended: pause it first (p)' }), HELP_HINT];
  }
}

/** Whether the upgrader is offered `key` now; `whyNot` is Run.whyNot. */
export function isOffered(key: KeyEntry, whyNot: WhyNot): boolean {
  return key.offered !== false && (key.query === undefined || whyNot(key.query) === null);
}

export type WhyNot = (query: ActionQuery) => string | null;

/** The hint for the keys offered, one string per line ("r retry · s skip (with a reason) · ..."). */
export function hintLines(keys: readonly KeyEntry[], whyNot: WhyNot): string[] {
  const shown = (key: KeyEntry) => `${key.shownKeys ?? key.keys[0]} ${key.hint}`;
  const offered = keys.filter((key) => key.keys.length > 0 && key.hint !== '' && isOffered(key, whyNot));
  const first = offered.filter((key) => key.firstLine).map(shown);
  const rest = offered.filter((key) => !key.firstLine).map(shown);
  return [first.join(' · '), rest.join(' · ')].filter((line) => line !== '');
}

/** The entry `name` (from `keyName`) presses among `keys`, if any. */
export function keyFor(keys: readonly KeyEntry[], name: string): KeyEntry | undefined {
  return keys.find((key) => key.keys.includes(name));
}

/** A key's name: the character typed, or Enter, Esc, Tab, Backspace, Ctrl-P, PgUp... */
export function keyName(input: string, key: InkKey): string {
  if (key.return) return 'Enter';
  if (key.escape) return 'Esc';
  if (key.tab) return 'Tab';
  if (key.backspace || key.delete) return 'Backspace';
  if (key.ctrl && input.length === 1) return `Ctrl-${input.toUpperCase()}`;
  if (key.pageUp) return 'PgUp';
  if (key.pageDown) return 'PgDn';
  if (key.upArrow) return 'Up';
  if (key.downArrow) return 'Down';
  if (key.leftArrow) return 'Left';
  if (key.rightArrow) return 'Right';
  if (key.end) return 'End';
  return input;
}

/** The parts of Ink's key that name one. */
export interface InkKey {
  ctrl: boolean;
  return: boolean;
  escape: boolean;
  tab: boolean;
  backspace: boolean;
  delete: boolean;
  pageUp: boolean;
  pageDown: boolean;
  upArrow: boolean;
  downArrow: boolean;
  leftArrow: boolean;
  rightArrow: boolean;
  end: boolean;
}

/** Keys that work on every screen: handled before the prompt's own. */
export const GLOBAL_KEYS: ReadonlyArray<{ meaning: MeaningName; keys: readonly string[] }> = [
  { meaning: 'stopNightshift', keys: ['Ctrl-C'] },
  { meaning: 'scroll', keys: ['PgUp', 'PgDn', 'Up', 'Down'] },
  { meaning: 'selectHost', keys: ['Left', 'Right'] },
  { meaning: 'history', keys: ['j', 'k'] },
  { meaning: 'goto', keys: ['1', '2', '3', '4', '5', '6', '7', '8', '9'] },
  { meaning: 'wrap', keys: ['w'] },
  { meaning: 'shell', keys: ['!'] },
  { meaning: 'extendGuard', keys: ['+'] },
  { meaning: 'search', keys: ['/'] },
  { meaning: 'follow', keys: ['End'] },
  { meaning: 'chat', keys: ['Tab'] },
  { meaning: 'help', keys: ['?'] },
  { meaning: 'hideHelp', keys: ['Esc'] },
];

/** The help list: every meaning, in the table's order. */
export function helpList(): Array<[shown: string, help: string]> {
  return Object.values(MEANINGS as Record<string, KeyMeaning>).map((meaning) => [meaning.shown, meaning.help]);
}

// --- plain mode ---

/** The entries plain mode answers with words, in the order its "Answer ..." line lists them. */
const PLAIN_ORDER: MeaningName[] = [
  'confirm',
  'reattach',
  'stopAttempt',
  'retry',
  'retryHost',
  'askSite',
  'markDone',
  'override',
  'skip',
  'fallBack',
  'fallBackAnywhere',
  'skipHost',
  'fallBackHost',
  'stopRollout',
  'fallBackAll',
  'chat',
  'pause',
];

function meaningOf(key: KeyEntry): KeyMeaning {
  return MEANINGS[key.meaning];
}

/** The entries plain mode has words for, in the order its "Answer ..." line lists them. */
export function plainKeys(keys: readonly KeyEntry[]): KeyEntry[] {
  return keys
    .filter((key) => key.plain !== false && meaningOf(key).words !== undefined && PLAIN_ORDER.includes(key.meaning))
    .sort((a, b) => PLAIN_ORDER.indexOf(a.meaning) - PLAIN_ORDER.indexOf(b.meaning));
}

/** How plain mode shows one answer: `skip REASON`, `retry (keep waiting)`. */
export function plainWord(key: KeyEntry, withNote = true): string {
  const meaning = meaningOf(key);
  return `${meaning.words?.[0] ?? ''}${meaning.argument ? ` ${meaning.argument}` : ''}${withNote && key.note ? ` (${key.note})` : ''}`;
}

/** Plain mode's "retry (keep waiting) | skip REASON | ..." for the answers offered now. */
export function plainUsage(keys: readonly KeyEntry[], whyNot: WhyNot): string {
  return plainKeys(keys)
    .filter((key) => isOffered(key, whyNot))
    .map((key) => plainWord(key))
    .join(' | ');
}

/** What a typed answer means: the entry it names and the rest of the line, or nothing known. */
export type PlainAnswer = { key: KeyEntry; argument: string } | { unknown: string };

/**
 * Reads one answer of plain mode by its first word. Where a text is asked for (an approval,
 * a typed confirmation), the answer is that text unless it is exactly another answer's
 * word (pause) or starts one that takes a reason. `say TEXT` is plain mode's own.
 */
export function parsePlainAnswer(keys: readonly KeyEntry[], answer: string): PlainAnswer {
  const [first = '', ...rest] = answer.split(/\s+/);
  const argument = rest.join(' ');
  const field = keys.find((key) => key.does.kind === 'send' && key.keys.includes('Enter'));
  const named = plainKeys(keys).find((key) => key !== field && key.meaning !== 'chat' && meaningOf(key).words!.includes(first.toLowerCase()));
  if (field) {
    if (named && (meaningOf(named).argument === 'REASON' || answer === meaningOf(named).words![0])) return { key: named, argument };
    return { key: field, argument: answer };
  }
  return named ? { key: named, argument } : { unknown: answer };
}
