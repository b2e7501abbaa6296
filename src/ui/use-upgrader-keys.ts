// The upgrader's keys, read from the key map (key-map.ts). Keys can arrive faster than React
// renders (a pasted "disk0\r" is one chunk), so the screen's own state lives in a ref and
// every key is read against the live engine state, never against the last rendered frame.
import { useApp, useInput, type Key } from 'ink';
import { useEffect, useReducer, useRef } from 'react';
import { MAX_MESSAGE_CHARS, parseChatLine, sayOrSetPresence, slashUsage, typingShown } from '../chat/chat-text.js';
import type { HumanEvent } from '../engine/events.js';
import { fleetViewsOf, type FleetView } from '../engine/fleet-view.js';
import { visibleLine } from '../output/neutralize.js';
import { allSteps, type Runbook } from '../runbook/types.js';
import type { Run } from '../runner/run.js';
import { isOffered, keyFor, keyName, keysFor, reasonEvent, type KeyEntry } from './key-map.js';
import { activePrompt, type Mode, type Prompt } from './prompt.js';
import type { Questions } from './questions.js';
import { shownStepIdOf } from './shown-step.js';
import { useTextField } from './text-field.js';
import type { UpgraderChat } from './upgrader-chat.js';

const SCROLL_PAGE = 10;
/** Rows a page key moves the key list by. */
const HELP_PAGE = 5;
/** Messages a page key moves the chat by. */
const CHAT_PAGE = 5;

export interface ScreenState {
  mode: Mode;
  text: string;
  /** Lines scrolled back from the end of the output; 0 follows it. */
  scroll: number;
  message: string | null;
  /** The host of a rollout the upgrader selected (← →): its steps and output are shown; null follows the rollout. */
  selected: string | null;
  /** The step the upgrader looks back at (j k): its output from its logs; null follows the run. */
  history: string | null;
  /** Messages scrolled back in the chat (PgUp PgDn while writing to the site); 0 shows the newest. */
  chatScroll: number;
  /** Long output lines wrapped whole (w), else cut at the panel's width. */
  wrap: boolean;
  /** The text searched for in the output (/), marked where it is shown; n and N go to the next match. */
  search: string | null;
  /** Rows of the key list (?) scrolled past, on a terminal too small for all of it. */
  helpScroll: number;
}

/** Smart case, as in less -i with capitals: a text with a capital letter matches exactly. */
export function matchesSearch(line: string, text: string): boolean {
  return text !== text.toLowerCase() ? line.includes(text) : line.toLowerCase().includes(text);
}

/**
 * The line a search goes to, as lines scrolled back from the end (the match becomes the
 * bottom line of the panel): from the line at the bottom now (`scroll`), the first match
 * before it (older) or after it (newer); null when there is none that way.
 */
export function searchScroll(lines: readonly string[], text: string, scroll: number, older: boolean, including = false): number | null {
  const bottom = Math.max(0, lines.length - 1 - scroll);
  if (older) {
    for (let index = including ? bottom : bottom - 1; index >= 0; index--) if (matchesSearch(lines[index]!, text)) return lines.length - 1 - index;
  } else {
    for (let index = including ? bottom : bottom + 1; index < lines.length; index++) if (matchesSearch(lines[index]!, text)) return lines.length - 1 - index;
  }
  return null;
}

/**
 * The step after (or before) `from` in the runbook panel's order, hosts of a rollout left to
 * the host selection; past either end, none (the run is followed again).
 */
export function nextStep(runbook: Runbook, from: string | null, step: 1 | -1): string | null {
  const order = allSteps(runbook)
    .filter((each) => each.instanceOf === undefined)
    .map((each) => each.id);
  if (order.length === 0) return null;
  const index = from === null ? -1 : order.indexOf(from);
  if (index === -1) return step === 1 ? order[0]! : order.at(-1)!;
  return order[index + step] ?? null;
}

/** The rollout the grid shows: the one under way, else the last one started. */
export function shownFleet(fleets: readonly FleetView[]): FleetView | null {
  return fleets.find((view) => view.batch < view.batches.length) ?? fleets.at(-1) ?? null;
}

/** The host after (or before) `selected` in the grid's order; past either end, none (the rollout is followed). */
export function nextHost(view: FleetView | null, selected: string | null, step: 1 | -1): string | null {
  if (!view || view.hosts.length === 0) return null;
  const order = view.hosts.map((host) => host.host);
  const index = selected === null ? (step === 1 ? -1 : order.length) : order.indexOf(selected);
  return order[index + step] ?? null;
}

/** A field where the upgrader types what a step asks for (its target, a checkpoint's text). */
function asksForStepText(prompt: Prompt): boolean {
  return prompt.kind === 'approval' || prompt.kind === 'confirmation';
}

/** Where the run waits (step and what for): a message said about one place is stale at another. */
function placeOf(run: Run): string {
  const { focus, outcome } = run.view();
  return focus ? `${focus.stepId}:${focus.waitingFor}` : `outcome:${outcome ?? ''}`;
}

/** A refusal as the upgrader reads it: their own, or a helper's, named (the helper is told too). */
export function refusedText(event: { by: { role: string; name: string }; reason: string; action: string }, upgrader: { name: string }): string {
  if (event.by.role === 'upgrader' && event.by.name === upgrader.name) return `not accepted: ${visibleLine(event.reason)}`;
  const action = event.action === 'CONFIRM' ? '/ok' : event.action.toLowerCase().replaceAll('_', ' ');
  return `${visibleLine(event.by.name)} (${event.by.role}): ${action} not accepted: ${visibleLine(event.reason)}`;
}

/**
 * Opens a shell on `host` and, inside `suspend` (Ink's: the view steps aside and is drawn
 * again after), hands it the terminal; resolves with how it ended, rejects, once the view is
 * back, when no shell could be opened or the upgrader gave up while it opened.
 */
export type ShellOpener = (host: string, stepId: string | null, suspend: (work: () => Promise<void>) => Promise<void>) => Promise<string>;

/** `limits`: how far the key list and the chat can scroll, as last drawn (the screen sets them). */
export function useUpgraderKeys(
  run: Run,
  questions: Questions,
  onLeave: (how: 'finished' | 'interrupted') => void,
  chat?: UpgraderChat,
  limits?: { current: { help: number; chat: number } },
  openShell?: ShellOpener,
): ScreenState {
  const state = useRef<Omit<ScreenState, 'text'>>({
    mode: { kind: 'normal' },
    scroll: 0,
    message: null,
    selected: null,
    history: null,
    chatScroll: 0,
    wrap: false,
    search: null,
    helpScroll: 0,
  });
  const [, rerender] = useReducer((count: number) => count + 1, 0);
  const messagePlace = useRef('');
  /** From `!` until the view is back from the shell. */
  const shellTaking = useRef(false);
  const { suspendTerminal } = useApp();
  const update = (patch: Partial<Omit<ScreenState, 'text'>>) => {
    if (patch.message !== undefined && patch.message !== null) messagePlace.current = placeOf(run);
    state.current = { ...state.current, ...patch };
    rerender();
  };

  useEffect(
    () =>
      run.onEvent((event) => {
        if (event.type === 'step.refused') {
          messagePlace.current = placeOf(run);
          state.current = { ...state.current, message: refusedText(event, run.upgrader) };
          rerender();
        } else if (state.current.message !== null && placeOf(run) !== messagePlace.current) {
          // What was said about the last state is stale once the run moves on.
          state.current = { ...state.current, message: null };
          rerender();
        }
      }),
    [run],
  );

  const by = run.upgrader;
  const liveFleets = () => fleetViewsOf(run.actor.getSnapshot().context, run.runbook);
  const livePrompt = (): Prompt => {
    const { mode } = state.current;
    const view = run.view();
    return activePrompt({
      mode: mode.kind === 'help' ? { kind: 'normal' } : mode,
      question: questions.current(),
      focus: view.focus,
      outcome: view.outcome,
      stepOf: run.stepOf,
      relaysAllowed: run.relaysAllowed,
      fleets: liveFleets(),
    });
  };
  const field = useTextField({
    max: () => (state.current.mode.kind === 'chat' ? MAX_MESSAGE_CHARS : Number.POSITIVE_INFINITY),
    accepts: () => livePrompt().typing,
    submit: (text) => submit(livePrompt(), text),
    typed: (text) => {
      if (state.current.mode.kind === 'chat' && typingShown(text)) chat?.hub.typing(chat.me.id);
    },
  });
  const backToNormal = (mode: Mode = { kind: 'normal' }) => {
    field.clear();
    update({ mode, ...(mode.kind === 'chat' ? {} : { chatScroll: 0 }) });
  };
  const say = (message: string) => update({ message });

  // Saves and leaves at once; a running detached step goes on on its host.
  const pause = () => {
    const focus = run.view().focus;
    if (focus?.waitingFor === 'running') run.suspend(by, `paused by ${by.name} while ${run.stepOf(focus.stepId).number} ran`);
    else run.send({ type: 'PAUSE', by });
    onLeave('finished');
  };

  /** A line written to the site; stays in chat mode for the next one, like talk. */
  const sendChat = (value: string) => {
    if (!chat) return backToNormal();
    const line = parseChatLine(value, 'upgrader');
    if (line === null) return backToNormal();
    field.clear();
    if (sayOrSetPresence(chat.hub, chat.me.id, line)) return;
    if (line.kind === 'code') {
      if (!chat.access?.state()) return say('there is no helper channel (--no-helpers, or it could not open)');
      chat.access.newCode();
      return say(`new join code ${chat.access.state()?.code ?? '?'}; the old one no longer works`);
    }
    say(`in the chat: ${slashUsage('upgrader')} · Esc goes back`);
  };

  /** A reason is checked with the engine before it goes: refused, it stays in its field to be put right. */
  const sendWithReason = (event: HumanEvent | null) => {
    if (!event) return backToNormal();
    const why = run.whyNot(event);
    if (why !== null) return say(`not accepted: ${why}`);
    run.send(event);
    backToNormal();
  };

  /** The step the output panel shows now, and the host selected in a rollout's grid. */
  const liveShown = (): { stepId: string | null; selectedHost: string | null } => {
    const { history, selected } = state.current;
    const host = shownFleet(liveFleets())?.hosts.find((each) => each.host === selected);
    const stepId = shownStepIdOf({
      history,
      hostStep: host ? (host.step?.id ?? null) : undefined,
      prompt: livePrompt(),
      focusStepId: run.view().focus?.stepId,
      lastStepId: run.outputs.lastStepId,
      stepOf: run.stepOf,
    });
    return { stepId, selectedHost: host?.host ?? null };
  };

  /** The lines of the output on screen, oldest first, as far back as they are kept. */
  const shownLines = (): string[] => {
    const { history } = state.current;
    const { stepId } = liveShown();
    const output = stepId === null ? undefined : history !== null ? run.outputs.history(stepId) : run.outputs.of(stepId);
    return output ? output.ring.tail(output.ring.retained).map((line) => line.text) : [];
  };

  /** A shell on the host of the step on screen (the host selected in a rollout's grid), else the runbook's only host. */
  const startShell = () => {
    if (!openShell) return say('no shell from this view');
    const { stepId, selectedHost } = liveShown();
    const step = stepId === null ? null : run.stepOf(stepId);
    const hosts = Object.keys(run.runbook.hosts);
    const host = selectedHost ?? (step && 'host' in step && typeof step.host === 'string' ? step.host : hosts.length === 1 ? hosts[0]! : null);
    if (host === null) {
      return say(
        step
          ? `step ${step.number} runs on no host: select one that does (j k) for a shell there`
          : 'no step on a host is shown: select one (j k) for a shell there',
      );
    }
    shellTaking.current = true;
    openShell(host, stepId, (work) => suspendTerminal(work))
      .then(
        (ended) => say(visibleLine(ended)),
        (error: Error) => say(`no shell on ${host}: ${visibleLine(error.message)}`),
      )
      .finally(() => {
        shellTaking.current = false;
      });
  };

  /** Scrolls to the next match of `text` (older, or newer): the message says when there is none. */
  const findNext = (text: string, older: boolean, including = false) => {
    const lines = shownLines();
    const scroll = searchScroll(lines, text, Math.min(state.current.scroll, Math.max(0, lines.length - 1)), older, including);
    if (scroll === null) {
      return update({
        search: text,
        message: `"${visibleLine(text)}" ${older ? 'is not further back' : 'is not further on'} in the ${lines.length} lines shown`,
      });
    }
    update({ search: text, scroll, message: null });
  };

  const submit = (prompt: Prompt, value: string) => {
    switch (prompt.kind) {
      case 'search': {
        backToNormal();
        const text = value.trim();
        if (text === '') return update({ search: null });
        return findNext(text, true, true);
      }
      case 'goto': {
        backToNormal();
        const number = value.trim();
        if (number === '') return;
        const step = allSteps(run.runbook).find((candidate) => candidate.number.toLowerCase() === number.toLowerCase());
        if (!step) return say(`there is no step ${visibleLine(number)}: type a number as the runbook panel shows it (2.1, F1)`);
        return update({ history: step.id, scroll: 0, selected: null });
      }
      case 'chat':
        return sendChat(value);
      case 'reason':
        return sendWithReason(reasonEvent(prompt.action, prompt.stepId, by, value, prompt.target));
      case 'question':
        if (prompt.question.kind === 'passphrase' || prompt.question.kind === 'sudo-password') prompt.question.answer(value === '' ? null : value);
        break;
      case 'approval':
      case 'confirmation': {
        // The typed text is the engine's to judge (a wrong one is refused and journaled).
        const key = keyFor(keysFor(prompt, { by, chat: chat !== undefined }), 'Enter');
        if (key?.does.kind === 'send') run.send(key.does.event(value));
        break;
      }
    }
    backToNormal();
  };

  /** What a key of the map does once pressed. */
  const press = (prompt: Prompt, key: KeyEntry) => {
    const why = key.query ? run.whyNot(key.query) : null;
    if (why !== null) return say(`not accepted: ${why}`);
    const does = key.does;
    switch (does.kind) {
      case 'send':
        run.send(does.event(''));
        // The "are you sure" is answered.
        if (prompt.kind === 'confirm-cancel' || prompt.kind === 'confirm-stop-attempt') backToNormal();
        return;
      case 'reason':
        return backToNormal({ kind: 'reason', action: does.action, stepId: does.stepId, ...(does.target ? { target: does.target } : {}) });
      case 'ask-first':
        return backToNormal(does.mode);
      case 'pause':
        return pause();
      case 'chat':
        return backToNormal(prompt.kind === 'chat' ? { kind: 'normal' } : { kind: 'chat' });
      case 'submit':
        return submit(prompt, field.text);
      case 'clear':
        return field.clear();
      case 'back':
        return backToNormal();
      case 'answer':
        if (prompt.kind === 'question' && prompt.question.kind === 'host-key') prompt.question.answer(does.yes);
        return;
      case 'leave':
        return onLeave('finished');
      case 'say':
        return say(does.text);
      case 'global':
        return;
    }
  };

  const onKey = (input: string, key: Key) => {
    // Keys read with the `!` (a paste, keys typed fast) belong to the shell, not to the view.
    if (shellTaking.current) return;
    const { mode } = state.current;
    const name = keyName(input, key);
    if (name === 'Ctrl-C') {
      if (mode.kind === 'confirm-stop') onLeave('interrupted');
      else update({ mode: { kind: 'confirm-stop' } });
      return;
    }
    if (mode.kind === 'confirm-stop') return update({ mode: { kind: 'normal' } });
    // With the key list open, the page keys go through it.
    if (mode.kind === 'help' && (name === 'PgUp' || name === 'PgDn' || name === 'Up' || name === 'Down')) {
      const step = name === 'PgUp' ? -HELP_PAGE : name === 'PgDn' ? HELP_PAGE : name === 'Up' ? -1 : 1;
      return update({ helpScroll: Math.min(Math.max(0, state.current.helpScroll + step), limits?.current.help ?? 0) });
    }
    // While writing to the site, the page keys go through the chat.
    if (mode.kind === 'chat' && (name === 'PgUp' || name === 'PgDn' || name === 'End')) {
      const back = name === 'End' ? 0 : Math.max(0, state.current.chatScroll + (name === 'PgUp' ? CHAT_PAGE : -CHAT_PAGE));
      const limit = limits?.current.chat ?? Math.max(0, (chat?.hub.messages(chat.me.id).length ?? 1) - 1);
      return update({ chatScroll: Math.min(back, limit) });
    }
    if (name === 'PgUp' || name === 'Up') return update({ scroll: state.current.scroll + (name === 'PgUp' ? SCROLL_PAGE : 1) });
    if (name === 'PgDn' || name === 'Down') return update({ scroll: Math.max(0, state.current.scroll - (name === 'PgDn' ? SCROLL_PAGE : 1)) });
    if (name === 'End') return update({ scroll: 0, history: null });
    if ((name === 'Left' || name === 'Right') && !(livePrompt().typing && field.text !== '')) {
      return update({ selected: nextHost(shownFleet(liveFleets()), state.current.selected, name === 'Right' ? 1 : -1), scroll: 0, history: null });
    }
    if (name === 'w' && !livePrompt().typing) return update({ wrap: !state.current.wrap });
    // Also before typing what a step asks for (to look at the disk a destructive step names).
    if (name === '!' && (!livePrompt().typing || (field.text === '' && asksForStepText(livePrompt())))) return startShell();
    if (name === '/' && !livePrompt().typing) return backToNormal({ kind: 'search' });
    // As ? does: before typing, and never in a password, which may start with "+".
    if (name === '+' && run.guards.active() && (!livePrompt().typing || (field.text === '' && livePrompt().kind !== 'question'))) {
      say("moving the guard's deadline…");
      void run.guards.extend().then(say);
      return;
    }
    // A digit starts a step's number (typed fast, the rest may come with it).
    if (/^[1-9]/.test(name) && name === input && !key.ctrl && !key.meta && !livePrompt().typing) {
      backToNormal({ kind: 'goto' });
      field.type(input);
      return;
    }
    if (
      (name === 'n' || name === 'N') &&
      state.current.search !== null &&
      !livePrompt().typing &&
      !keyFor(keysFor(livePrompt(), { by, chat: chat !== undefined }), name)
    ) {
      return findNext(state.current.search, name === 'n');
    }
    if ((name === 'j' || name === 'k') && !livePrompt().typing) {
      // From the step on screen: the one looked back at, else the one the run shows.
      const from = state.current.history ?? liveShown().stepId ?? run.view().focus?.stepId ?? run.outputs.lastStepId;
      return update({ history: nextStep(run.runbook, from, name === 'j' ? 1 : -1), scroll: 0, selected: null });
    }
    update({ message: null });

    const prompt = livePrompt();
    // Tab reaches the chat from anywhere, text fields included; t where no text is typed.
    if (name === 'Tab' && chat && prompt.kind !== 'question') {
      return prompt.kind === 'chat' ? backToNormal() : backToNormal({ kind: 'chat' });
    }
    // Before typing, but never in a password: one may start with "?".
    if (name === '?' && (!prompt.typing || (field.text === '' && prompt.kind !== 'question'))) {
      return update({ mode: mode.kind === 'help' ? { kind: 'normal' } : { kind: 'help' }, helpScroll: 0 });
    }
    if (mode.kind === 'help' && name === 'Esc') return update({ mode: { kind: 'normal' } });

    const keys = keysFor(prompt, { by, chat: chat !== undefined });
    const pressed = keyFor(keys, name);
    if (prompt.typing) {
      // Named keys (Esc, Ctrl-P) act; Enter, Backspace and letters belong to the field.
      if (pressed && name.length > 1 && name !== 'Enter' && name !== 'Backspace') return press(prompt, pressed);
      field.key(name, input, key.ctrl || key.meta);
      return;
    }
    if (!pressed) return;
    // Not the upgrader's to give (a checkpoint only the site confirms): the engine answers it.
    if (!isOffered(pressed, () => null) && pressed.does.kind === 'send') return run.send(pressed.does.event(''));
    press(prompt, pressed);
  };
  useInput(onKey);
  return { ...state.current, text: field.text };
}
