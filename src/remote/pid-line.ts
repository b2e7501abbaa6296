/**
 * Takes the launcher's stderr line (`nightshift-pid 1234`) off the stream and keeps the
 * pid; everything else passes through untouched. Lines before it are what the login shell
 * printed while starting (a noisy .bashrc): they pass through as they come. If no pid line
 * comes within the first few KB (the launcher could not run), the search stops there.
 */
export class PidLineReader {
  static readonly tag = 'nightshift-pid';
  private static readonly maxLineBytes = 64;
  private static readonly maxNoiseBytes = 8192;

  private held = Buffer.alloc(0);
  /** The pid line has been found, or the search given up. */
  private done = false;
  /** Inside a line already known not to be the pid line (too long), until its newline. */
  private skippingLine = false;
  private passedBytes = 0;
  private ended = false;
  private pid: number | null = null;
  private readonly waiters = new Set<(pid: number | null) => void>();

  /** The launcher's pid, once its line was read; null until then (and for good if it never came). */
  get foundPid(): number | null {
    return this.pid;
  }

  /** What of `chunk` belongs to the command's stderr. */
  feed(chunk: Buffer): Buffer {
    if (this.done) return chunk;
    const out: Buffer[] = [];
    let data = chunk;
    if (this.skippingLine) {
      const newline = data.indexOf(0x0a);
      const end = newline < 0 ? data.length : newline + 1;
      out.push(data.subarray(0, end));
      this.passedBytes += end;
      data = data.subarray(end);
      this.skippingLine = newline < 0;
    }
    this.held = Buffer.concat([this.held, data]);
    for (;;) {
      const newline = this.held.indexOf(0x0a);
      if (newline < 0) {
        if (this.held.length > PidLineReader.maxLineBytes) {
          out.push(this.held);
          this.passedBytes += this.held.length;
          this.held = Buffer.alloc(0);
          this.skippingLine = true;
        }
        break;
      }
      const match = new RegExp(`^${PidLineReader.tag} (\\d+)$`).exec(this.held.subarray(0, newline).toString('latin1'));
      if (match) {
        out.push(this.held.subarray(newline + 1));
        this.held = Buffer.alloc(0);
        this.pid = Number(match[1]);
        this.done = true;
        this.wakeWaiters();
        return Buffer.concat(out);
      }
      out.push(this.held.subarray(0, newline + 1));
      this.passedBytes += newline + 1;
      this.held = this.held.subarray(newline + 1);
    }
    if (this.passedBytes > PidLineReader.maxNoiseBytes) out.push(this.flush());
    return Buffer.concat(out);
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
