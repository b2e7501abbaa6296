// Questions the SSH layer asks while the full-screen view is up (an unknown host key, a
// key's passphrase). They queue here; the prompt panel answers the first one.
import type { HostKeyInfo, RemoteInteraction } from '../remote/types.js';

export type Question =
  | { kind: 'host-key'; key: HostKeyInfo; answer(accept: boolean): void }
  | { kind: 'passphrase'; keyFile: string; retry: boolean; answer(passphrase: string | null): void }
  /** `become: sudo`: the password of `user` on `host`; `retry` after sudo refused the last one. */
  | { kind: 'sudo-password'; host: string; user: string; retry: boolean; answer(password: string | null): void };

export class Questions {
  private queue: Question[] = [];
  private readonly listeners = new Set<() => void>();

  current(): Question | undefined {
    return this.queue[0];
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  interaction(): RemoteInteraction {
    return {
      confirmUnknownHostKey: (key) => this.ask<boolean>((answer) => ({ kind: 'host-key', key, answer })),
      askPassphrase: (keyFile, retry) => this.ask<string | null>((answer) => ({ kind: 'passphrase', keyFile, retry, answer })),
      askSudoPassword: (host, user, retry) => this.ask<string | null>((answer) => ({ kind: 'sudo-password', host, user, retry, answer })),
    };
  }

  private ask<T>(make: (answer: (value: T) => void) => Question): Promise<T> {
    return new Promise<T>((resolve) => {
      const question = make((value: T) => {
        this.queue = this.queue.filter((q) => q !== question);
        this.changed();
        resolve(value);
      });
      this.queue = [...this.queue, question];
      this.changed();
    });
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
