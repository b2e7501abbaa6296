/**
 * Takes the launcher's first stderr line (`nightshift-pid 1234`) off the stream and keeps
 * the pid; everything else passes through untouched. If the first line is something else
 * (the launcher could not run), it is passed on as it came.
 */
export class PidLineReader {
  static readonly tag = 'nightshift-pid';
  private static readonly maxLineBytes = 64;

  private held = Buffer.alloc(0);
  /** The first line has been dealt with. */
  private done = false;
  private ended = false;
  private pid: number | null = null;
  private readonly waiters = new Set<(pid: number | null) => void>();

  /** What of `chunk` belongs to the command's stderr. */
  feed(chunk: Buffer): Buffer {
    if (this.done) return chunk;
    this.held = Buffer.concat([this.held, chunk]);
    const newline = this.held.indexOf(0x0a);
    if (newline < 0) return this.held.length > PidLineReader.maxLineBytes ? this.flush() : Buffer.alloc(0);
    const match = new RegExp(`^${PidLineReader.tag} (\\d+)$`).exec(this.held.subarray(0, newline).toString('latin1'));
    if (!match) return this.flush();
    const rest = this.held.subarray(newline + 1);
    this.held = Buffer.alloc(0);
    this.pid = Number(match[1]);
    this.done = true;
    this.wakeWaiters();
    return rest;
  }

  /** Whatever is held back, now; no pid is read after this. */
  flush(): Buffer {
    const held = this.held;
    this.held = Buffer.alloc(0);
    this.done = true;
    this.wakeWaiters();
    return held;
  }

  /** The channel closed: a pid that has not come will not come. */
  end(): void {
    this.ended = true;
    this.wakeWaiters();
  }

  waitForPid(timeoutMs: number): Promise<number | null> {
    if (this.done || this.ended) return Promise.resolve(this.pid);
    return new Promise((resolve) => {
      const wake = (pid: number | null) => {
        clearTimeout(timer);
        resolve(pid);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        resolve(null);
      }, timeoutMs);
      this.waiters.add(wake);
    });
  }

  private wakeWaiters(): void {
    for (const wake of this.waiters) wake(this.pid);
    this.waiters.clear();
  }
}
