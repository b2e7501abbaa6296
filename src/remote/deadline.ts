/** A timeout that can be paused: time spent waiting for a human does not count against the login. */
export class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private remainingMs: number;
  private startedAt = 0;
  private pauses = 0;
  private done = false;

  constructor(
    totalMs: number,
    private readonly onExpire: () => void,
  ) {
    this.remainingMs = totalMs;
    this.arm();
  }

  pause(): void {
    if (this.done || this.pauses++ > 0) return;
    clearTimeout(this.timer);
    this.remainingMs -= Date.now() - this.startedAt;
  }

  resume(): void {
    if (this.done || --this.pauses > 0) return;
    this.arm();
  }

  stop(): void {
    this.done = true;
    clearTimeout(this.timer);
  }

  private arm(): void {
    this.startedAt = Date.now();
    this.timer = setTimeout(
      () => {
        this.done = true;
        this.onExpire();
      },
      Math.max(0, this.remainingMs),
    );
  }
}
