// The chat between the upgrader and the helpers on site, and who is present: messages in
// order, who is typing, who is away and until when. Every change is journaled; front-ends
// (the upgrader's screen, each helper's screen) read from here and never from each other.
// Helpers are rate-limited (what each of them says or changes), and nobody takes a name that
// passes for someone else's; what is refused is told to the one refused only.
import { nameProblem, plainName } from './chat-names.js';
import { cleanChatText, MAX_NAME_CHARS } from './chat-text.js';
import type { EntryFields, EntryType } from '../store/journal.js';

export type ChatRole = 'upgrader' | 'sentinel' | 'observer';

export interface ChatAuthor {
  role: ChatRole;
  name: string;
}

export interface Away {
  since: number;
  /** When they said they would be back; null when they did not say. */
  until: number | null;
  reason: string;
}

export interface Participant extends ChatAuthor {
  id: string;
  /** Their time zone: messages they write are stamped with their clock. */
  tz: string;
  joinedAt: number;
  away: Away | null;
  typingAt: number | null;
}

export interface ChatMessage {
  seq: number;
  /** null for what nightshift itself says (joined, away, back). */
  from: ChatAuthor | null;
  /** For one participant's eyes only (what nightshift tells them it refused), by id. */
  to?: string;
  /** Not shown to this participant (the run's events, to an upgrader whose plain lines say them already), by id. */
  notFor?: string;
  /** The writer's time zone at the time. */
  tz: string;
  text: string;
  at: number;
}

/** Whether a sentinel is here to lend a hand, and if not, why (shown to the upgrader). */
export interface Hands {
  available: boolean;
  why: string;
}

/** Writes a chat entry to the session's journal (see store/journal-entries.ts for each one's fields). */
export type JournalWriter = <T extends EntryType & `chat.${string}`>(type: T, fields: EntryFields<T>, at: number) => void;

/** Typing shows for this long after the last key. */
export const TYPING_SHOWN_MS = 3000;
const KEPT_MESSAGES = 1000;
/** A helper may say or change this many things in a row... */
export const HELPER_BURST = 5;
/** ...and then one more every this long. */
export const HELPER_EVERY_MS = 500;
/** While a helper keeps going too fast, they are told again at most this often. */
const TOO_FAST_TOLD_EVERY_MS = 5000;

/** How fast one helper may go: a bucket of HELPER_BURST, one more every HELPER_EVERY_MS. */
interface Pace {
  tokens: number;
  at: number;
  /** When they were last told they go too fast (null: since their last accepted action). */
  toldAt: number | null;
  refused: number;
}

export class ChatHub {
  private readonly people = new Map<string, Participant>();
  private readonly paces = new Map<string, Pace>();
  private readonly log: ChatMessage[] = [];
  private readonly listeners = new Set<() => void>();
  private seq = 0;
  private changes = 0;
  /** Whether the log holds a message for one participant only. */
  private anyPrivate = false;
  /** The run's secrets: masked in every message, whoever wrote it (the journal masks its copy itself). */
  secrets?: { maskText(text: string): string };

  constructor(
    private readonly journal: JournalWriter,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts every change, so a screen can tell whether to draw again. */
  get version(): number {
    return this.changes;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Messages from an earlier stretch of the session (resume), oldest first; not journaled again. */
  restore(messages: Array<{ from: ChatAuthor | null; text: string; at: number; tz?: string }>, defaultTz: string): void {
    for (const message of messages) {
      this.push({ from: message.from, text: cleanChatText(message.text), at: message.at, tz: message.tz ?? defaultTz });
    }
    this.changed();
  }

  join(who: { role: ChatRole; name: string; tz: string; id?: string }): Participant {
    const at = this.now();
    const name = cleanChatText(who.name, MAX_NAME_CHARS) || who.role;
    const participant: Participant = { id: this.freeId(who.id ?? name), role: who.role, name, tz: who.tz, joinedAt: at, away: null, typingAt: null };
    this.people.set(participant.id, participant);
    // The upgrader is there from the start: run.started and session.resumed say who.
    if (who.role === 'upgrader') return participant;
    this.journal('chat.joined', { id: participant.id, name, role: who.role }, at);
    this.notice(`${name} (${who.role}) joined`, at);
    return participant;
  }

  leave(id: string): void {
    const participant = this.people.get(id);
    if (!participant) return;
    const at = this.now();
    this.people.delete(id);
    this.paces.delete(id);
    this.journal('chat.left', { id, name: participant.name, role: participant.role }, at);
    this.notice(`${participant.name} (${participant.role}) left`, at);
  }

  /** A message from a participant; empty text (after cleaning) is dropped, one too fast refused. */
  say(id: string, raw: string): ChatMessage | null {
    const participant = this.people.get(id);
    const text = cleanChatText(raw);
    if (!participant || text === '' || !this.take(id)) return null;
    const at = this.now();
    participant.typingAt = null;
    const from = { role: participant.role, name: participant.name };
    const message = this.push({ from, text, at, tz: participant.tz });
    this.journal('chat.message', { from, text, tz: participant.tz }, at);
    this.changed();
    return message;
  }

  typing(id: string): void {
    const participant = this.people.get(id);
    if (!participant) return;
    const at = this.now();
    // Once a second is enough to keep "is typing" alive on the other screens.
    const shown = participant.typingAt !== null && at - participant.typingAt < 1000;
    participant.typingAt = at;
    if (!shown) this.changed();
  }

  away(id: string, minutes: number | null, reason: string): void {
    const participant = this.people.get(id);
    if (!participant || !this.take(id)) return;
    const at = this.now();
    const why = cleanChatText(reason, 80);
    participant.away = { since: at, until: minutes === null ? null : at + minutes * 60_000, reason: why };
    this.journal('chat.away', { id, name: participant.name, role: participant.role, minutes, reason: why }, at);
    this.notice(`${participant.name} (${participant.role}) is away${minutes === null ? '' : ` for ${minutes} min`}${why ? `: ${why}` : ''}`, at);
  }

  back(id: string): void {
    const participant = this.people.get(id);
    if (!participant?.away || !this.take(id)) return;
    this.returned(participant);
  }

  /**
   * Someone who confirms a step is at their screen: one marked away is back, as with /back
   * (one rule with the hold on `needs: hands` steps, which lifts with it). Paced with the /ok.
   */
  confirming(id: string): void {
    const participant = this.people.get(id);
    if (participant?.away) this.returned(participant);
  }

  private returned(participant: Participant): void {
    const at = this.now();
    participant.away = null;
    this.journal('chat.back', { id: participant.id, name: participant.name, role: participant.role }, at);
    this.notice(`${participant.name} (${participant.role}) is back`, at);
  }

  /** A new name, unless it passes for someone else's (see chat-names.ts): then only they are told why. */
  rename(id: string, name: string): void {
    const participant = this.people.get(id);
    const clean = plainName(name);
    if (!participant || clean === participant.name || !this.take(id)) return;
    const others = this.participants()
      .filter((p) => p.id !== id)
      .map((p) => p.name);
    const problem = nameProblem(clean, others);
    const at = this.now();
    if (problem !== null) {
      const tried = cleanChatText(clean, MAX_NAME_CHARS * 2);
      this.journal('chat.refused', { id, name: participant.name, role: participant.role, reason: 'name', tried }, at);
      this.tell(id, `not renamed: ${problem}`);
      return;
    }
    const before = participant.name;
    participant.name = clean;
    this.journal('chat.renamed', { id, from: before, to: clean, role: participant.role }, at);
    this.notice(`${before} (${participant.role}) is now called ${clean}`, at);
  }

  /**
   * Whether a participant may say or change something now. Helpers go at most HELPER_BURST
   * in a row, then one every HELPER_EVERY_MS; past that they are refused and told, once
   * while they keep going (and the journal says so). The upgrader is never held back.
   */
  take(id: string): boolean {
    const participant = this.people.get(id);
    if (!participant) return false;
    if (participant.role === 'upgrader') return true;
    const now = this.now();
    let pace = this.paces.get(id);
    if (!pace) {
      pace = { tokens: HELPER_BURST, at: now, toldAt: null, refused: 0 };
      this.paces.set(id, pace);
    }
    pace.tokens = Math.min(HELPER_BURST, pace.tokens + (now - pace.at) / HELPER_EVERY_MS);
    pace.at = now;
    if (pace.tokens >= 1) {
      pace.tokens -= 1;
      pace.toldAt = null;
      return true;
    }
    pace.refused++;
    if (pace.toldAt === null || now - pace.toldAt >= TOO_FAST_TOLD_EVERY_MS) {
      pace.toldAt = now;
      this.journal('chat.refused', { id, name: participant.name, role: participant.role, reason: 'too-fast', refused: pace.refused }, now);
      pace.refused = 0;
      this.tell(id, `too fast: that was not sent. At most ${HELPER_BURST} in a row, then one every ${HELPER_EVERY_MS / 1000} s`);
    }
    return false;
  }

  /** Something nightshift says to one participant only (a refusal); not journaled here. */
  tell(id: string, text: string): void {
    if (!this.people.has(id)) return;
    this.push({ from: null, to: id, text: cleanChatText(text), at: this.now(), tz: 'UTC' });
    this.changed();
  }

  participant(id: string): Participant | undefined {
    return this.people.get(id);
  }

  participants(): Participant[] {
    return [...this.people.values()];
  }

  /** Helpers present (sentinels and observers). */
  helpers(): Participant[] {
    return this.participants().filter((p) => p.role !== 'upgrader');
  }

  /** What everybody sees, and with `readerId` what was told to that participant alone too. */
  messages(readerId?: string): readonly ChatMessage[] {
    if (!this.anyPrivate) return this.log;
    return this.log.filter((message) => (message.to === undefined || message.to === readerId) && (message.notFor === undefined || message.notFor !== readerId));
  }

  /** Who other than `id` typed in the last few seconds. */
  typists(id: string | null): Participant[] {
    const now = this.now();
    return this.participants().filter((p) => p.id !== id && p.typingAt !== null && now - p.typingAt < TYPING_SHOWN_MS);
  }

  hands(): Hands {
    const sentinels = this.participants().filter((p) => p.role === 'sentinel');
    if (sentinels.length === 0) return { available: false, why: 'no sentinel has joined' };
    if (sentinels.some((p) => p.away === null)) return { available: true, why: '' };
    const [first] = sentinels;
    const away = first!.away!;
    return { available: false, why: `${first!.name} is away${away.reason ? ` (${away.reason})` : ''}` };
  }

  /** Something nightshift says in the chat (a broadcast sent, a tunnel down); not journaled here. */
  /** What nightshift says in the chat; `notFor`: a participant who is not shown it. */
  note(text: string, options: { notFor?: string } = {}): void {
    this.notice(cleanChatText(text), this.now(), options.notFor);
  }

  private notice(text: string, at: number, notFor?: string): void {
    this.push({ from: null, text, at, tz: 'UTC', ...(notFor !== undefined ? { notFor } : {}) });
    this.changed();
  }

  private push(message: Omit<ChatMessage, 'seq'>): ChatMessage {
    const full = { ...message, text: this.secrets?.maskText(message.text) ?? message.text, seq: ++this.seq };
    if (full.to !== undefined || full.notFor !== undefined) this.anyPrivate = true;
    this.log.push(full);
    if (this.log.length > KEPT_MESSAGES) this.log.splice(0, this.log.length - KEPT_MESSAGES);
    return full;
  }

  private freeId(base: string): string {
    const clean = base.replace(/[^\w.-]/g, '') || 'helper';
    if (!this.people.has(clean)) return clean;
    for (let n = 2; ; n++) if (!this.people.has(`${clean}-${n}`)) return `${clean}-${n}`;
  }

  private changed(): void {
    this.changes++;
    for (const listener of [...this.listeners]) listener();
  }
}
