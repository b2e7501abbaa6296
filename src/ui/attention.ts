// Calling the upgrader back to the screen at 3 AM: a terminal bell when a prompt starts
// waiting for them, or when a helper writes while the chat is not open, and the window's
// title saying that something waits. The titles are fixed words: no text from a runbook, a
// host or the chat reaches the title.
import { useEffect, useRef } from 'react';
import type { ChatHub } from '../chat/hub.js';
import type { Prompt } from './prompt.js';

export const BELL = '\u0007';
export const WAITING_TITLE = 'nightshift: waiting for you';
export const RUNNING_TITLE = 'nightshift';

/** Sets the terminal's title (OSC 2). */
export function titleSequence(title: string): string {
  return `\u001b]2;${title}\u0007`;
}

/** The title as it was before (xterm's title stack; terminals without one ignore both). */
const SAVE_TITLE = '\u001b[22;2t';
const RESTORE_TITLE = '\u001b[23;2t';

/**
 * What the prompt waits for from the upgrader, as a key that changes with each new wait;
 * null when nothing waits for the person at this screen (a step runs, the site confirms).
 */
export function waitingKey(prompt: Prompt): string | null {
  switch (prompt.kind) {
    case 'question':
      return `question:${prompt.question.kind}:${prompt.question.kind === 'host-key' ? prompt.question.key.host : prompt.question.kind === 'passphrase' ? prompt.question.keyFile : `${prompt.question.host}`}`;
    case 'approval':
      return `approval:${prompt.step.id}`;
    case 'decision':
      return `decision:${prompt.step.id}:${prompt.error}`;
    case 'host-decision':
      return `host-decision:${prompt.phase}:${prompt.host}:${prompt.step.id}`;
    case 'held':
      return `held:${prompt.step.id}`;
    case 'confirmation':
      return prompt.role === 'upgrader' || prompt.relayable ? `confirmation:${prompt.step.id}:${prompt.role}` : null;
    default:
      return null;
  }
}

export interface AttentionOptions {
  /** The `bell` preference: the title changes either way. */
  bell: boolean;
  write: (text: string) => void;
  chat?: { hub: ChatHub; open: boolean };
}

export function useAttention(prompt: Prompt, options: AttentionOptions): void {
  const { bell, write } = options;
  const key = waitingKey(prompt);
  useEffect(() => {
    write(SAVE_TITLE);
    return () => write(RESTORE_TITLE);
  }, [write]);
  const shown = useRef<string | null | undefined>(undefined);
  useEffect(() => {
    if (key === shown.current) return;
    shown.current = key;
    write(key === null ? titleSequence(RUNNING_TITLE) : `${bell ? BELL : ''}${titleSequence(WAITING_TITLE)}`);
  }, [key, bell, write]);

  // A helper's message while the chat is closed rings once; the upgrader's own never does.
  const chatOpen = useRef(false);
  chatOpen.current = options.chat?.open ?? false;
  const hub = options.chat?.hub;
  useEffect(() => {
    if (!hub || !bell) return;
    let seen = hub.messages().at(-1)?.seq ?? 0;
    return hub.subscribe(() => {
      const fresh = hub.messages().filter((message) => message.seq > seen);
      if (fresh.length === 0) return;
      seen = fresh.at(-1)!.seq;
      if (!chatOpen.current && fresh.some((message) => message.from !== null && message.from.role !== 'upgrader')) write(BELL);
    });
  }, [hub, bell, write]);
}
