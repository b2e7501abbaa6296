// Text a helper pasted, or that came in one burst with line breaks inside it, gathered into
// one chat message: a paste of 20,000 lines is one message, not 20,000 (each journaled,
// each drawn on every screen). Only its start is kept.
import { MAX_MESSAGE_CHARS, pastedMessage } from '../../chat/chat-text.js';

/** More than a message can hold once cleaned, so the cut falls where the limit does. */
const KEPT_CHARS = MAX_MESSAGE_CHARS * 4;

/** Whether `input` (one read of the terminal) is more than typing: a line break with text after it. */
export function isBurst(input: string): boolean {
  return input.length > 1 && /[\r\n][^\r\n]/.test(input);
}

export class PasteBurst {
  #kept = '';
  #more = false;

  /** `before`: what was already typed on the line; it starts the message. */
  constructor(before = '') {
    this.add(before);
  }

  add(text: string): void {
    if (this.#kept.length + text.length > KEPT_CHARS) this.#more = true;
    if (this.#kept.length < KEPT_CHARS) this.#kept += text.slice(0, KEPT_CHARS - this.#kept.length);
  }

  /** The one message it makes ('' when there is nothing to say). */
  message(): string {
    return pastedMessage(this.#kept, this.#more);
  }
}
