// `nightshift check RUNBOOK`, and the same check before a run's first step: every host
// resolved, logged in to and probed for what the runbook needs, shown as a table.
import { PassThrough } from 'node:stream';
import chalk from 'chalk';
import { safeJson, visibleLine } from '../output/neutralize.js';
import { HostPool } from '../remote/host-pool.js';
import type { ConnectOptions } from '../remote/types.js';
import { RunbookError } from '../runbook/errors.js';
import { loadRunbookFor } from './runbook-for-run.js';
import type { HostSelection } from '../runbook/fleet-settings.js';
import type { Runbook } from '../runbook/types.js';
import { terminalHideTyping } from '../ui/plain/hidden-typing.js';
import { checkHosts, oneQuestionAtATime, type CheckReport, type HandOverInteraction, type Mark } from '../runner/host-check.js';
import { LineReader } from '../ui/plain/line-reader.js';
import { plainInteraction, type PlainIO } from '../ui/plain/plain.js';
import { checkReportJson, formatCheckReport } from '../text/host-check-table.js';
import type { Out } from './runbook-commands.js';
import { EXIT } from './exit.js';
import { RunbookRefusal, UserError } from './user-error.js';
import { jsonLine } from '../ui/plain/json-stream.js';

export interface CheckCommandOptions {
  runbookFile: string;
  vars: Record<string, string>;
  select?: HostSelection;
  json: boolean;
  connect: Omit<ConnectOptions, 'interaction'>;
  siteTimeZone?: string;
}

const MARK_COLOURS: Record<Mark, (text: string) => string> = { ok: chalk.green, fail: chalk.red, none: chalk.dim };

function paintMark(mark: Mark, symbol: string): string {
  return MARK_COLOURS[mark](symbol);
}

/** Exit status 0 when every host has what the runbook needs, 1 when something is missing, 2 for a runbook that does not load. */
export async function checkCommand(options: CheckCommandOptions, out: Out): Promise<number> {
  let runbook: Runbook;
  try {
    runbook = await loadRunbookFor(options.runbookFile, {
      ...options,
      ...(options.connect.sshConfigFile !== undefined ? { sshConfigFile: options.connect.sshConfigFile } : {}),
    });
  } catch (error) {
    // A runbook that does not load is a usage mistake here: exit status 2, as --help says.
    if (error instanceof RunbookError) throw new RunbookRefusal(error, EXIT.usage);
    throw error;
  }
  // With --json, stdout is one JSON document: the questions (an unknown host key) go to stderr.
  const io: PlainIO = {
    reader: new LineReader(process.stdin),
    write: options.json ? out.stderr : out.stdout,
    json: false,
    tz: runbook.sites.upgrader.tz,
    ...(process.stdin.isTTY ? { hideTyping: terminalHideTyping } : {}),
  };
  const report = await runCheck(runbook, options.connect, io);
  if (options.json) out.stdout(`${safeJson(checkReportJson(report, runbook.file), 2)}\n`);
  else out.stdout(formatCheckReport(report, { mark: paintMark }));
  return report.ok ? EXIT.completed : EXIT.error;
}

/** Checks every host of the runbook over a pool of its own, closed afterwards; questions are asked on `io`. */
export async function runCheck(runbook: Runbook, connect: Omit<ConnectOptions, 'interaction'>, io: PlainIO): Promise<CheckReport> {
  const pool = new HostPool(runbook.hosts, {
    ...connect,
    phaseOrder: runbook.phaseOrder,
    interaction: oneQuestionAtATime(plainInteraction(io)),
  });
  try {
    return await checkPool(runbook, pool);
  } finally {
    await pool.close();
  }
}

function checkPool(runbook: Runbook, pool: HostPool, whileProbing?: () => void): Promise<CheckReport> {
  // The keys declared for the phase a run starts in.
  pool.setPhase(runbook.phaseOrder[0] ?? null);
  return checkHosts(runbook, pool, whileProbing ? { whileProbing } : {});
}

export interface PreRunCheckOptions {
  /** The run's pool: the keys unlocked for its logins (passphrases typed once) serve the run afterwards. */
  pool: HostPool;
  /** The pool's questions, asked here in plain lines until the run's front-end takes over. */
  questions: HandOverInteraction;
  /** Plain or JSON lines: the questions go to the run's own line reader. null: the full-screen view comes next. */
  io: PlainIO | null;
  /** Work for the run that needs no answer from the hosts, done while the probes' answers travel (CheckOptions). */
  whileProbing?: () => void;
}

/**
 * The check before a run's first step. Its table is printed; on a failure the upgrader at a
 * terminal is asked whether to go on anyway; without a terminal the run is refused (a
 * UserError). Returns when the run may start.
 */
export async function checkBeforeRun(runbook: Runbook, options: PreRunCheckOptions): Promise<void> {
  const write = (text: string) => void process.stdout.write(text);
  const borrowed = options.io ? null : borrowTerminalInput();
  const io: PlainIO = options.io ?? {
    reader: borrowed!.reader,
    write,
    json: false,
    tz: runbook.sites.upgrader.tz,
    hideTyping: terminalHideTyping,
  };
  options.questions.to = oneQuestionAtATime(plainInteraction(io));
  try {
    if (!io.json) write('nightshift: checking the hosts before the first step (--no-check skips this)\n');
    const report = await checkPool(runbook, options.pool, options.whileProbing);
    // The run goes on with the check's logins (its journal tells them as it starts) and
    // with what was unlocked and recorded meanwhile (passphrases, host keys).
    options.pool.handOverToRun();
    if (io.json) write(jsonLine(checkReportJson(report, runbook.file) as { type: string }));
    else write(formatCheckReport(report, { mark: paintMark }));
    if (report.ok) return;
    if (!process.stdin.isTTY) {
      throw new UserError(
        `the check before the first step failed, so nothing was run on the hosts of ${visibleLine(runbook.name)}; ` +
          'provide what is missing (✗ above), or start with --no-check to run anyway.',
      );
    }
    write(
      io.json
        ? jsonLine({ type: 'prompt', for: 'check-failed', text: 'continue anyway? [y/N]' })
        : `${chalk.bold.yellow('?')} ${chalk.bold('Something the runbook needs is missing. Continue anyway? [y/N]')}\n`,
    );
    const answer = await io.reader.next();
    if (!/^y(es)?$/i.test(answer?.trim() ?? '')) throw new UserError('not started; nothing was run.');
  } finally {
    borrowed?.release();
  }
}

/**
 * Lines from the terminal for the questions asked before the full-screen view starts; given
 * back before it starts, so that it gets every key from then on.
 */
function borrowTerminalInput(): { reader: LineReader; release(): void } {
  const lines = new PassThrough();
  // Read as the full-screen view reads ('readable', never flowing): a stdin that once flowed
  // (pipe, 'data') and was paused again no longer tells a later 'readable' listener anything.
  const onReadable = () => {
    let chunk: Buffer | string | null;
    while ((chunk = process.stdin.read() as Buffer | string | null) !== null) lines.write(chunk);
  };
  process.stdin.on('readable', onReadable);
  return {
    reader: new LineReader(lines),
    release() {
      process.stdin.off('readable', onReadable);
      lines.end();
    },
  };
}
