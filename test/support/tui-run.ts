// For full-screen tests: `nightshift run` of a runbook written for the test, in a tmux of
// the size the test names, with a state folder of its own and no helper channel. The
// terminal goes after each test, the runbooks' folder after the file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { BIN, freshStateDir, ROOT } from './cli.js';
import { TmuxSession } from './tmux.js';

export interface TuiRuns {
  /** The folder the runbooks are written in (for files a runbook's commands use). */
  dir: string;
  /** Writes `runbook` as NAME.yaml and starts it; the session is taken down after the test. */
  start(runbook: string, options: { cols: number; rows: number; name?: string; env?: Record<string, string> }): TmuxSession;
}

/** Call at a describe's top level. */
export function tuiRuns(prefix: string): TuiRuns {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  let current: TmuxSession | undefined;
  afterEach(() => {
    current?.kill();
    current = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    start(runbook, options) {
      const file = path.join(dir, `${options.name ?? `runbook-${options.cols}x${options.rows}`}.yaml`);
      writeFileSync(file, runbook);
      current = TmuxSession.start([process.execPath, BIN, 'run', file, '--no-helpers'], {
        cwd: ROOT,
        env: { NIGHTSHIFT_STATE_DIR: freshStateDir(), ...options.env },
        cols: options.cols,
        rows: options.rows,
      });
      return current;
    },
  };
}
