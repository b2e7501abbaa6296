// The join code a helper types to get into the helper channel, and the gate that guards it:
// wrong codes are counted across every connection (they all arrive from 127.0.0.1 through
// the tunnel), and too many in a row lock everybody out for a while.
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

/** Nine digits in three groups, easy to read out on a phone: "482-917-305". */
export function drawJoinCode(previous?: string): string {
  for (;;) {
    const digits = String(randomInt(0, 1_000_000_000)).padStart(9, '0');
    const code = `${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`;
    if (code !== previous) return code;
  }
}

/** What the helper typed, without the dashes and spaces they may or may not have typed. */
export function normalizeJoinCode(typed: string): string {
  return typed.replace(/[\s-]+/g, '');
}

/** Constant time in the typed text: both sides are hashed before they are compared. */
export function joinCodeMatches(typed: string, code: string): boolean {
  const digest = (text: string) => createHash('sha256').update(normalizeJoinCode(text), 'utf8').digest();
  return timingSafeEqual(digest(typed.slice(0, 1000)), digest(code));
}

export type JoinGateChange =
  | { type: 'code-changed'; reason: 'drawn' | 'used' }
  | { type: 'locked'; until: number; failures: number }
  | { type: 'unlocked'; reason: 'expired' | 'new-code' };

export interface JoinGateOptions {
  maxFailures: number;
  lockoutMs: number;
  /** A code lets one helper in, then a new one is drawn. */
  oneTime: boolean;
  onChange(change: JoinGateChange): void;
  now?: () => number;
}

export type JoinVerdict = 'accepted' | 'wrong' | 'locked';

export class JoinGate {
  readonly #options: JoinGateOptions;
  readonly #now: () => number;
  #code = drawJoinCode();
  #failures = 0;
  #lockedUntil: number | null = null;
  #lockTimer: NodeJS.Timeout | undefined;

  constructor(options: JoinGateOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  code(): string {
    return this.#code;
  }

  /** Draws a new code; it also ends a lockout and forgets the wrong codes so far. */
  newCode(): string {
    this.#code = drawJoinCode(this.#code);
    this.#failures = 0;
    const wasLocked = this.#unlock();
    this.#options.onChange({ type: 'code-changed', reason: 'drawn' });
    if (wasLocked) this.#options.onChange({ type: 'unlocked', reason: 'new-code' });
    return this.#code;
  }

  lockedUntil(): number | null {
    if (this.#lockedUntil !== null && this.#now() >= this.#lockedUntil) this.#expire();
    return this.#lockedUntil;
  }

  failures(): number {
    return this.#failures;
  }

  /**
   * Judges a typed code. A right one resets the count of wrong ones (and is used up when
   * codes are one-time); a wrong one is not counted here: the caller reports it, then calls
   * recordFailure(), so that the report comes before a lockout it causes.
   */
  check(typed: string): JoinVerdict {
    if (this.lockedUntil() !== null) return 'locked';
    if (!joinCodeMatches(typed, this.#code)) return 'wrong';
    this.#failures = 0;
    if (this.#options.oneTime) {
      this.#code = drawJoinCode(this.#code);
      this.#options.onChange({ type: 'code-changed', reason: 'used' });
    }
    return 'accepted';
  }

  /** A wrong code, or an attempt with a user name nobody has: counts towards the lockout. */
  recordFailure(): void {
    if (this.lockedUntil() !== null) return;
    this.#failures++;
    if (this.#failures < this.#options.maxFailures) return;
    const until = this.#now() + this.#options.lockoutMs;
    this.#lockedUntil = until;
    this.#armExpiry();
    this.#options.onChange({ type: 'locked', until, failures: this.#failures });
  }

  dispose(): void {
    clearTimeout(this.#lockTimer);
    this.#lockTimer = undefined;
  }

  /** Tells the listeners when the lockout runs out, even if nobody asks. */
  #armExpiry(): void {
    clearTimeout(this.#lockTimer);
    if (this.#lockedUntil === null) return;
    this.#lockTimer = setTimeout(
      () => {
        if (this.lockedUntil() !== null) this.#armExpiry();
      },
      Math.max(0, this.#lockedUntil - this.#now()) + 5,
    );
    this.#lockTimer.unref();
  }

  #expire(): void {
    this.#failures = 0;
    this.#unlock();
    this.#options.onChange({ type: 'unlocked', reason: 'expired' });
  }

  #unlock(): boolean {
    clearTimeout(this.#lockTimer);
    this.#lockTimer = undefined;
    const was = this.#lockedUntil !== null;
    this.#lockedUntil = null;
    return was;
  }
}
