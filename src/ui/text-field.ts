// The one text field of both apps (the upgrader's typed answers and chat, the helper's chat
// line). Keys can arrive faster than React renders (a pasted "disk0\r" is one chunk), so the
// text lives here, not in React state, and each line break in a chunk submits what came before.
import { useReducer, useRef } from 'react';

export interface TextFieldOptions {
  /** The most characters the field holds (further ones are dropped). */
  max(): number;
  /** Whether typing goes into the field now (a chunk's later characters may find a prompt that takes none). */
  accepts(): boolean;
  /** Enter or a line break: the text typed. The field is not cleared: `submit` decides (clear() when taken). */
  submit(text: string): void;
  /** Something was typed (the chat tells the others): the field's text now. */
  typed?(text: string): void;
}

export class TextField {
  #text = '';

  constructor(
    private readonly options: TextFieldOptions,
    private readonly changed: () => void,
  ) {}

  get text(): string {
    return this.#text;
  }

  set(text: string): void {
    this.#text = text.slice(0, this.options.max());
    this.changed();
  }

  clear(): void {
    this.set('');
  }

  backspace(): void {
    this.set(this.#text.slice(0, -1));
  }

  /** Typed or pasted characters; control characters are dropped, a line break submits. */
  type(input: string): void {
    let typed = false;
    for (const char of input) {
      if (char === '\r' || char === '\n') {
        if (this.options.accepts()) this.options.submit(this.#text);
      } else if (char >= ' ' && char !== '\x7f' && this.options.accepts() && this.#text.length < this.options.max()) {
        this.#text += char;
        typed = true;
      }
    }
    this.changed();
    if (typed) this.options.typed?.(this.#text);
  }

  submit(): void {
    this.options.submit(this.#text);
  }

  /** Enter, Backspace and typed characters (a key's name as key-map.ts's keyName gives it); whether it was one of them. */
  key(name: string, input: string, modified: boolean): boolean {
    if (name === 'Enter') this.submit();
    else if (name === 'Backspace') this.backspace();
    else if (!modified && input !== '' && name === input) this.type(input);
    else return false;
    return true;
  }
}

/** A text field whose changes draw the component again; `options` is read live (a ref), so it may close over the latest render. */
export function useTextField(options: TextFieldOptions): TextField {
  const [, rerender] = useReducer((count: number) => count + 1, 0);
  const latest = useRef(options);
  latest.current = options;
  const field = useRef<TextField | null>(null);
  field.current ??= new TextField(
    {
      max: () => latest.current.max(),
      accepts: () => latest.current.accepts(),
      submit: (text) => latest.current.submit(text),
      typed: (text) => latest.current.typed?.(text),
    },
    rerender,
  );
  return field.current;
}
