// A program on a pseudo-terminal of its own, as a user's terminal would run it: util-linux
// `script` allocates the pty, our end reads everything the program draws and types keys.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface Watcher {
  marker: Buffer;
  /** The end of what was drawn since the watcher came, for a marker split across chunks. */
  seen: Buffer;
  resolve(at: number): void;
  /** The program ended before drawing the marker: the figure fails at once, saying why. */
  reject(error: Error): void;
}

/** What the program drew last, as text, for the message when it ends too early. */
const LAST_DRAWN = 2048;

export class PtyProgram {
  /** Bytes the program wrote to its terminal so far. */
  bytes = 0;
  readonly startedAt: number;
  readonly exited: Promise<number>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly watchers = new Set<Watcher>();
  private lastDrawn = Buffer.alloc(0);
  private exitedWith: number | null = null;

  constructor(command: string, options: { env?: NodeJS.ProcessEnv; cols?: number; rows?: number; cwd?: string } = {}) {
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...options.env };
    // Ink draws nothing until exit when it believes it runs in CI.
    delete env['CI'];
    const sized = `stty cols ${options.cols ?? 120} rows ${options.rows ?? 40}; exec ${command}`;
    this.startedAt = performance.now();
    this.child = spawn('script', ['-qfec', sized, '/dev/null'], { env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => this.take(chunk));
    this.child.stderr.on('data', () => {});
    this.exited = new Promise((resolve) =>
      // close, not exit: what the program drew last has been read by then.
      this.child.on('close', (code) => {
        this.exitedWith = code ?? 128;
        for (const watcher of [...this.watchers]) watcher.reject(this.endedEarly(watcher.marker.toString()));
        this.watchers.clear();
        resolve(this.exitedWith);
      }),
    );
  }

  private endedEarly(marker: string): Error {
    const drawn = this.lastDrawn
      .toString('utf8')
      .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g, '')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .slice(-12)
      .join('\n  ');
    return new Error(`the program ended (status ${this.exitedWith}) before drawing "${marker}"; it last drew:\n  ${drawn || '(nothing)'}`);
  }

  private take(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.lastDrawn = Buffer.concat([this.lastDrawn, chunk]).subarray(-LAST_DRAWN);
    if (this.watchers.size === 0) return;
    const now = performance.now();
    for (const watcher of [...this.watchers]) {
      const window = Buffer.concat([watcher.seen, chunk]);
      if (window.includes(watcher.marker)) {
        this.watchers.delete(watcher);
        watcher.resolve(now);
      } else watcher.seen = window.subarray(Math.max(0, window.length - watcher.marker.length + 1));
    }
  }

  /** Resolves with the time (performance.now) the marker is next drawn, counting only output from now on. */
  next(marker: string, timeoutMs = 120_000): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.exitedWith !== null) return reject(this.endedEarly(marker));
      const watcher: Watcher = {
        marker: Buffer.from(marker),
        seen: Buffer.alloc(0),
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.watchers.delete(watcher);
        reject(new Error(`"${marker}" was not drawn within ${timeoutMs} ms`));
      }, timeoutMs);
      this.watchers.add(watcher);
    });
  }

  type(keys: string): void {
    this.child.stdin.write(keys);
  }

  #programPid: number | null = null;

  /** The program itself (script runs it under sh, which execs it); looked up once (pgrep, which blocks this process). */
  programPid(): number | null {
    if (this.#programPid !== null) return this.#programPid;
    const children = spawnSync('pgrep', ['-P', String(this.child.pid)], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    // Until script has started it, script's own shell may be the child: only a node program is kept.
    const pid = children.length > 0 ? Number(children[0]) : null;
    if (pid !== null && readComm(pid) === 'node') this.#programPid = pid;
    return pid;
  }

  /** Kills the program (it would outlive script, holding its terminal) and script. */
  kill(): void {
    const pid = this.programPid();
    if (pid !== null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.child.kill('SIGKILL');
  }
}

/** The program's resident memory sampled every `everyMs` while it runs: each sample's RSS, and the peak (VmHWM). */
export class MemoryWatch {
  readonly samples: number[] = [];
  peakMiB = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly program: PtyProgram,
    everyMs = 250,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    const pid = this.program.programPid();
    const memory = pid !== null ? memoryOf(pid) : null;
    if (!memory) return;
    this.samples.push(memory.rssMiB);
    this.peakMiB = Math.max(this.peakMiB, memory.peakMiB);
  }

  /** Takes a last sample and stops: the peak so far. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peakMiB;
  }
}

/** Resident memory of a process in MiB, now and at its peak; null once it is gone. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024;
    return { rssMiB: field('VmRSS'), peakMiB: field('VmHWM') };
  } catch {
    return null;
  }
}

function readComm(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}
