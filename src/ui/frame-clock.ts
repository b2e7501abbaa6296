// When what lives outside React (the machine, the hosts' links, the steps' output) reaches the
// screen. Every change and every poll of a view is drawn in frames: a change after a quiet
// moment at once, faster ones together in the next frame, at most one frame every `everyMs`.
// React batches the state updates of one frame into one render, so a rollout whose hosts
// change the machine hundreds of times a second costs a few renders a second, and a key
// (React state of its own) is never queued behind them.

export class FrameClock {
  readonly #requested = new Set<() => void>();
  readonly #polls = new Set<() => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #drawnAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `draw` in the next frame: at once when the last one is at least everyMs old. A draw requested twice runs once. */
  request(draw: () => void): void {
    this.#requested.add(draw);
    if (this.now() - this.#drawnAt >= this.everyMs) this.#frame();
    else this.#schedule();
  }

  /** Runs `check` in every frame, at least every everyMs, until the returned function is called. */
  poll(check: () => void): () => void {
    this.#polls.add(check);
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
    for (const check of [...this.#polls]) check();
    if (this.#polls.size > 0) this.#schedule();
  };

  /** The next frame, everyMs after the last one. */
  #schedule(): void {
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#drawnAt + this.everyMs - this.now());
    this.#timer = setTimeout(this.#frame, wait);
  }

  #cancel(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
