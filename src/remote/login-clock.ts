// One try at logging in along a route (jump hosts, then the destination): a single bound on
// all of it, paused while a human answers a question, and the questions still open.
import { Deadline } from './deadline.js';

export class LoginClock {
  /** Whether a human was asked anything during this try. */
  askedHuman = false;
  private readonly questions = new Set<Promise<unknown>>();
  private readonly deadline: Deadline;
  private onExpire: (() => void) | undefined;
  private expired = false;

  constructor(totalMs: number) {
    this.deadline = new Deadline(totalMs, () => {
      this.expired = true;
      this.onExpire?.();
    });
  }

  /** Who is told when the time is up: the step in progress (at once when it is already up). */
  whenExpired(handler: () => void): void {
    this.onExpire = handler;
    if (this.expired) queueMicrotask(handler);
  }

  async ask<T>(question: () => Promise<T>): Promise<T> {
    this.askedHuman = true;
    this.deadline.pause();
    const asking = question();
    this.questions.add(asking);
    try {
      return await asking;
    } finally {
      this.questions.delete(asking);
      this.deadline.resume();
    }
  }

  /** Settles when every open question has been answered. */
  async answered(): Promise<void> {
    await Promise.allSettled([...this.questions]);
  }

  stop(): void {
    this.deadline.stop();
  }
}
