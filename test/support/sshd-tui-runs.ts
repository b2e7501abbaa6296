// For full-screen tests against the test sshd: the sshd for the describe (withSshd), a
// folder with its client files (the host named `alias`) and the runbooks the suite writes,
// and `nightshift ARGS` started in tmux with them. The terminal goes after each test, the
// folder after the file.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll } from 'vitest';
import { BIN, clientFlags, freshStateDir, ROOT } from './cli.js';
import { scratchFolders } from './scratch-folder.js';
import { TmuxSession } from './tmux.js';
import { withSshd } from './with-sshd.js';

export interface SshdTuiRuns {
  /** The suite's folder: client files, runbooks, and whatever their commands leave there. */
  readonly dir: string;
  /** `nightshift ARGS` with the client files and no helper channel, in a terminal of that size. */
  start(args: string[], options?: { cols?: number; rows?: number; stateDir?: string }): TmuxSession;
  /** A terminal the test started itself, taken down after the test as well. */
  track(term: TmuxSession): TmuxSession;
}

/** Call at a describe's top level; `runbooks(dir)` gives each runbook's file name and text. */
export function sshdTuiRuns(prefix: string, alias: string, runbooks: (dir: string) => Record<string, string>): SshdTuiRuns {
  const host = withSshd();
  const dir = scratchFolders()(prefix);
  let current: TmuxSession | undefined;
  beforeAll(() => {
    host.sshd.writeClientFiles(dir, alias);
    for (const [name, text] of Object.entries(runbooks(dir))) writeFileSync(path.join(dir, name), text);
  });
  afterEach(() => {
    current?.kill();
    current = undefined;
  });
  const track = (term: TmuxSession) => {
    current = term;
    return term;
  };
  return {
    dir,
    track,
    start(args, options = {}) {
      return track(
        TmuxSession.start([process.execPath, BIN, ...args, ...clientFlags(dir), '--no-helpers'], {
          cwd: ROOT,
          env: { NIGHTSHIFT_STATE_DIR: options.stateDir ?? freshStateDir(), SSH_AUTH_SOCK: '' },
          ...(options.cols !== undefined ? { cols: options.cols } : {}),
          ...(options.rows !== undefined ? { rows: options.rows } : {}),
        }),
      );
    },
  };
}
