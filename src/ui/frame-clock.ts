// When what lives outside React (the machine, the hosts' links, the steps' output) reaches the
// screen. Every change and every poll of a view is drawn in frames: a change after a quiet
// moment at once, faster ones together in the next frame, at most one frame every `everyMs`.
// React batches the state updates of one frame into one render, so a rollout whose hosts
// change the machine hundreds of times a second costs a few renders a second, and a key
// (React state of its own) is never queued behind them. When every poll says nothing it
// watches can change by itself (no step output open), polls slow to every `quietEveryMs`:
// an idle screen wakes once a second, not ten times; any requested change still draws at once.

export class FrameClock {
  readonly #requested = new Set<() => void>();
  readonly #polls = new Map<() => void, (() => boolean) | undefined>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #drawnAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly everyMs: number,
    private readonly now: () => number = Date.now,
    readonly quietEveryMs: number = everyMs,
  ) {}

  /** Runs `draw` in the next frame: at once when the last one is at least everyMs old. A draw requested twice runs once. */
  request(draw: () => void): void {
    this.#requested.add(draw);
    if (this.now() - this.#drawnAt >= this.everyMs) this.#frame();
    else this.#schedule();
  }

  /**
   * Runs `check` in every frame, at least every everyMs (every quietEveryMs while `quiet`
   * says so for every poll), until the returned function is called.
   */
  poll(check: () => void, quiet?: () => boolean): () => void {
    this.#polls.set(check, quiet);
    // Its first look is drawn now, as a frame of its own.
    this.#drawnAt = this.now();
    check();
    this.#schedule();
    return () => {
      this.#polls.delete(check);
      if (this.#polls.size === 0 && this.#requested.size === 0) this.#cancel();
    };
  }

  #frame = (): void => {
    this.#cancel();
    this.#drawnAt = this.now();
    const draws = [...this.#requested];
    this.#requested.clear();
    for (const draw of draws) draw();
    for (const check of [...this.#polls.keys()]) check();
    if (this.#polls.size > 0) this.#schedule();
  };

  /** The next frame, everyMs after the last one (quietEveryMs when every poll is quiet). */
  #schedule(): void {
    const quiet = this.#requested.size === 0 && [...this.#polls.values()].every((isQuiet) => isQuiet?.() === true);
    const at = this.#drawnAt + (quiet ? this.quietEveryMs : this.everyMs);
    // A change requested during a quiet wait is drawn in the next ordinary frame, not at the end of the wait.
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.#cancel();
    this.#timerAt = at;
    this.#timer = setTimeout(this.#frame, Math.max(0, at - this.now()));
  }

  #cancel(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }
}
