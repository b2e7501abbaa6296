// When no helper has joined, what the site must know goes to the site's consoles with
// `wall` (or `write` to one user) on the site host, again at an interval until someone joins.
import type { ChatHub, JournalWriter } from './hub.js';

export interface SiteNoticesOptions {
  hub: ChatHub;
  /** Runs wall or write on the site host with the text. */
  broadcast(text: string): Promise<void>;
  /** "wall on dragon", for the chat and the journal. */
  where: string;
  everyMs: number;
  /** How to join, appended to every broadcast. */
  joinHint: string;
  journal: JournalWriter;
  now?: () => number;
}

export class SiteNotices {
  private needed: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly options: SiteNoticesOptions) {
    this.unsubscribe = options.hub.subscribe(() => {
      if (this.someoneJoined()) this.stopRepeating();
      else if (this.needed !== null && !this.timer) this.schedule();
    });
  }

  /** What the site is needed for now (a checkpoint for the sentinel, a step held for hands); null when settled. */
  need(text: string | null): void {
    if (text === this.needed) return;
    this.needed = text;
    this.stopRepeating();
    if (text !== null && !this.someoneJoined()) {
      void this.send(`the upgrader needs someone on site: ${text}`);
      this.schedule();
    }
  }

  /** A chat message while nobody is there to read it. */
  message(from: string, text: string): void {
    if (!this.someoneJoined()) void this.send(`message from ${from}: ${text}`);
  }

  close(): void {
    this.closed = true;
    this.stopRepeating();
    this.unsubscribe();
  }

  private someoneJoined(): boolean {
    return this.options.hub.helpers().length > 0;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || this.needed === null || this.someoneJoined()) return;
      void this.send(`still waiting for someone on site: ${this.needed}`);
      this.schedule();
    }, this.options.everyMs);
    this.timer.unref?.();
  }

  private stopRepeating(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async send(what: string): Promise<void> {
    const { hub, where, journal, joinHint } = this.options;
    const text = `nightshift: ${what}\n${joinHint}`;
    const at = (this.options.now ?? Date.now)();
    try {
      await this.options.broadcast(text);
      journal('chat.broadcast', { where, text }, at);
      hub.note(`sent with ${where}: ${what}`);
    } catch (error) {
      journal('chat.broadcast', { where, text, error: (error as Error).message }, at);
      hub.note(`could not send with ${where}: ${(error as Error).message}`);
    }
  }
}
