// The upgrader's keys. Keys can arrive faster than React renders (a pasted "disk0\r" is
// one chunk), so the screen's own state lives in a ref and every key is read against the
// live engine state, never against the last rendered frame.
import { useInput, type Key } from 'ink';
import { useEffect, useReducer, useRef } from 'react';
import { MAX_MESSAGE_CHARS, parseChatLine } from '../chat/chat-text.js';
import type { Run } from '../runner/run.js';
import { rebootSiteRequest } from '../text/steps.js';
import type { UpgraderChat } from './upgrader-chat.js';
import { activePrompt, type Mode, type Prompt } from './prompt.js';
import type { Questions } from './questions.js';

const SCROLL_PAGE = 10;

export interface ScreenState {
  mode: Mode;
  text: string;
  /** Lines scrolled back from the end of the output; 0 follows it. */
  scroll: number;
  message: string | null;
}

export function useUpgraderKeys(
  run: Run,
  questions: Questions,
  onLeave: (how: 'finished' | 'interrupted') => void,
  chat?: UpgraderChat,
): ScreenState {
  const state = useRef<ScreenState>({ mode: { kind: 'normal' }, text: '', scroll: 0, message: null });
  const [, rerender] = useReducer((count: number) => count + 1, 0);
  const update = (patch: Partial<ScreenState>) => {
    state.current = { ...state.current, ...patch };
    rerender();
  };

  useEffect(
    () =>
      run.onEvent((event) => {
        if (event.type === 'step.refused') update({ message: `not accepted: ${event.reason}` });
      }),
    [run],
  );

  const by = run.upgrader;
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
    });
  };
  const backToNormal = (mode: Mode = { kind: 'normal' }) => update({ mode, text: '' });
  const say = (message: string) => update({ message });

  // Saves and leaves at once; a running detached step goes on on its host.
  const pause = () => {
    const focus = run.view().focus;
    if (focus?.waitingFor === 'running') run.suspend(by, `paused by ${by.name} while ${run.stepOf(focus.stepId).number} ran`);
    else run.send({ type: 'PAUSE', by });
    onLeave('finished');
  };

  const startFallback = (stepId: string | null) => {
    if (run.runbook.fallback.length === 0) say('this runbook has no fallback steps');
    else if (run.view().track === 'fallback') say('the fallback is already running');
    else backToNormal({ kind: 'reason', action: 'fallback', stepId });
  };

  /** A line written to the site; stays in chat mode for the next one, like talk. */
  const sendChat = (value: string) => {
    if (!chat) return backToNormal();
    const line = parseChatLine(value);
    if (line === null) return backToNormal();
    update({ text: '' });
    switch (line.kind) {
      case 'message':
        chat.hub.say(chat.me.id, line.text);
        return;
      case 'away':
        chat.hub.away(chat.me.id, line.minutes, line.reason);
        return;
      case 'back':
        chat.hub.back(chat.me.id);
        return;
      case 'name':
        chat.hub.rename(chat.me.id, line.name);
        return;
      case 'code':
        if (!chat.access?.state()) return say('there is no helper channel (--no-helpers, or it could not open)');
        chat.access.newCode();
        return say(`new join code ${chat.access.state()?.code ?? '?'}; the old one no longer works`);
      default:
        return say('in the chat: /away MINUTES REASON · /back · /code (a new join code) · /name NAME · Esc goes back');
    }
  };

  const submit = (prompt: Prompt) => {
    const value = state.current.text;
    switch (prompt.kind) {
      case 'chat':
        return sendChat(value);
      case 'question':
        if (prompt.question.kind === 'passphrase' || prompt.question.kind === 'sudo-password') prompt.question.answer(value === '' ? null : value);
        break;
      case 'approval':
        run.send({ type: 'APPROVE', stepId: prompt.step.id, by, value });
        break;
      case 'confirmation':
        run.send({ type: 'CONFIRM', stepId: prompt.step.id, role: prompt.role, by, value });
        break;
      case 'reason':
        if (value.trim() === '') return say('a reason is needed: it goes into the journal');
        if (prompt.action === 'skip' && prompt.stepId) run.send({ type: 'SKIP', stepId: prompt.stepId, by, reason: value });
        if (prompt.action === 'mark-done' && prompt.stepId) run.send({ type: 'MARK_DONE', stepId: prompt.stepId, by, reason: value });
        if (prompt.action === 'fallback') run.send({ type: 'FALLBACK', by, reason: value });
        if (prompt.action === 'override' && prompt.stepId) run.send({ type: 'OVERRIDE_HOLD', stepId: prompt.stepId, by, reason: value });
        break;
    }
    backToNormal();
  };

  const typeText = (input: string) => {
    for (const char of input) {
      if (char === '\r' || char === '\n') {
        const prompt = livePrompt();
        if (prompt.typing) submit(prompt);
      } else if (livePrompt().typing) {
        if (state.current.mode.kind === 'chat') {
          if (state.current.text.length >= MAX_MESSAGE_CHARS) continue;
          chat?.hub.typing(chat.me.id);
        }
        update({ text: state.current.text + char });
      }
    }
  };

  const onKey = (input: string, key: Key) => {
    const { mode, text } = state.current;
    if (key.ctrl && input === 'c') {
      if (mode.kind === 'confirm-stop') onLeave('interrupted');
      else update({ mode: { kind: 'confirm-stop' } });
      return;
    }
    if (mode.kind === 'confirm-stop') return update({ mode: { kind: 'normal' } });
    if (key.pageUp || key.upArrow) return update({ scroll: state.current.scroll + (key.pageUp ? SCROLL_PAGE : 1) });
    if (key.pageDown || key.downArrow) {
      return update({ scroll: Math.max(0, state.current.scroll - (key.pageDown ? SCROLL_PAGE : 1)) });
    }
    if (key.end) return update({ scroll: 0 });
    update({ message: null });

    const prompt = livePrompt();
    // Tab reaches the chat from anywhere, text fields included; t where no text is typed.
    if (key.tab && chat && prompt.kind !== 'question') {
      return prompt.kind === 'chat' ? backToNormal() : backToNormal({ kind: 'chat' });
    }
    if (input === '?' && (!prompt.typing || text === '')) {
      return update({ mode: mode.kind === 'help' ? { kind: 'normal' } : { kind: 'help' } });
    }
    if (mode.kind === 'help' && key.escape) return update({ mode: { kind: 'normal' } });

    if (prompt.typing) {
      if (key.ctrl && input === 'p') return pause();
      if (key.return) return submit(prompt);
      if (key.escape) return prompt.kind === 'reason' || prompt.kind === 'chat' ? backToNormal() : update({ text: '' });
      if (key.backspace || key.delete) return update({ text: text.slice(0, -1) });
      if (!key.ctrl && !key.meta && input) typeText(input);
      return;
    }

    if (input === 't' && chat && prompt.kind !== 'question' && prompt.kind !== 'confirm-cancel' && prompt.kind !== 'confirm-stop-attempt') {
      return backToNormal({ kind: 'chat' });
    }
    switch (prompt.kind) {
      case 'question':
        if (prompt.question.kind === 'host-key' && (input === 'y' || input === 'n')) prompt.question.answer(input === 'y');
        return;
      case 'confirm-cancel':
        if (input === 'y') run.send({ type: 'CANCEL', stepId: prompt.step.id, by });
        if (input === 'y' || input === 'n' || key.escape) backToNormal();
        return;
      case 'confirm-stop-attempt':
        if (input === 'y') run.send({ type: 'STOP_ATTEMPT', stepId: prompt.step.id, by });
        if (input === 'y' || input === 'n' || key.escape) backToNormal();
        return;
      case 'finished':
        if (input === 'q' || key.return) onLeave('finished');
        return;
      case 'decision':
        if (input === 'r') run.send({ type: 'RETRY', stepId: prompt.step.id, by });
        else if (input === 'a' && prompt.attemptMayRun !== undefined) run.send({ type: 'REATTACH', stepId: prompt.step.id, by });
        else if (input === 'k' && prompt.attemptMayRun !== undefined) backToNormal({ kind: 'confirm-stop-attempt', stepId: prompt.step.id });
        else if (input === 'a' && prompt.step.kind === 'reboot') {
          run.send({ type: 'ASK_SITE', stepId: prompt.step.id, by, request: rebootSiteRequest(prompt.step) });
        } else if (input === 's') backToNormal({ kind: 'reason', action: 'skip', stepId: prompt.step.id });
        else if (input === 'd' && prompt.interrupted) backToNormal({ kind: 'reason', action: 'mark-done', stepId: prompt.step.id });
        else if (input === 'f' || input === 'F') startFallback(prompt.step.id);
        else if (input === 'p') pause();
        return;
      case 'confirmation':
        if (input === 'y') run.send({ type: 'CONFIRM', stepId: prompt.step.id, role: prompt.role, by });
        else if (input === 'r' && prompt.request !== undefined) run.send({ type: 'RETRY', stepId: prompt.step.id, by });
        else if (input === 's' && prompt.request !== undefined) backToNormal({ kind: 'reason', action: 'skip', stepId: prompt.step.id });
        else if (input === 'p') pause();
        else if (input === 'F') startFallback(prompt.step.id);
        return;
      case 'held':
        if (input === 'o') backToNormal({ kind: 'reason', action: 'override', stepId: prompt.step.id });
        else if (input === 'F') startFallback(prompt.step.id);
        else if (input === 'p') pause();
        return;
      case 'running':
        if (input === 'c' && prompt.doing === undefined) update({ mode: { kind: 'confirm-cancel', stepId: prompt.step.id } });
        else if (input === 'F') startFallback(prompt.step.id);
        else if (input === 'p') pause();
        return;
      default:
        if (input === 'p') pause();
        if (input === 'q') say('the run has not ended: pause it first (p)');
    }
  };
  useInput(onKey);
  return state.current;
}
