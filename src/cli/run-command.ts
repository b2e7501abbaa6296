// `nightshift run`: the runbook, its variables and secrets, and the check before the first step;
// then the run itself (drive-run.ts), whose code loads while the check waits on the hosts.
import type { AgainFrom } from './going-again.js';
import type { CheckedPool } from './drive-run.js';
import type { GoingAgain } from '../engine/going-again.js';
import { HostPool } from '../remote/host-pool.js';
import type { ConnectOptions, RemoteInteraction } from '../remote/types.js';
import { loadRunbookFor } from './runbook-for-run.js';
import type { HostSelection } from '../runbook/fleet-settings.js';
import type { Runbook } from '../runbook/types.js';
import { terminalHideTyping } from '../ui/plain/hidden-typing.js';
import { askSecretPlain, type QuestionIO } from '../ui/plain/plain.js';
import { resolveSecrets, SecretError, SecretValues } from '../runner/secret-values.js';
import { visibleLine } from '../output/neutralize.js';
import { keepHeapNearLive } from './heap-growth.js';
import { HandOverInteraction, hostsCheckedFirst } from '../runner/host-check.js';
import type { HelperSettings } from '../store/helper-settings.js';
import type { Session, SessionMeta } from '../store/session.js';
import { goingAgainOf } from './going-again.js';
import { UserError } from './user-error.js';
import { isPlain, loadFullScreenViewEarly, plainIO, questionsOnTerminal, stdinReader, type FrontEndOptions } from './front-end.js';

export interface RunCommandOptions extends FrontEndOptions {
  runbookFile: string;
  vars: Record<string, string>;
  /** --hosts, --limit: the hosts of each for_each phase. */
  select?: HostSelection;
  connect: Omit<ConnectOptions, 'interaction'>;
  /** The site's time zone for a runbook that names no sites (preferences). */
  siteTimeZone?: string;
  /** For demo sessions: how to start the lab again on resume. */
  demo?: SessionMeta['demo'];
  helpers?: HelperSettings;
  /** Check every host before the first step (default true; --no-check). */
  check?: boolean;
  /** `--from PHASE`: start there, going again from the latest earlier session of the runbook (or `again`'s). */
  from?: string;
  /** Set by `again`: the session gone again from and its values (otherwise the latest one of the runbook is found). */
  againFrom?: AgainFrom;
}

export async function runCommand(options: RunCommandOptions): Promise<number> {
  loadFullScreenViewEarly(options);
  // What the run needs after the check (engine, session, chat): loaded while the check's
  // probes travel, when the check runs (loaded at once, it held the first login back).
  let driving: Promise<typeof import('./drive-run.js')> | undefined;
  const loadDriving = () => (driving ??= import('./drive-run.js'));
  const runbook = await loadRunbookFor(options.runbookFile, { ...options, ...sshConfigOf(options.connect) });
  // Before any session exists: a run refused here leaves nothing to resume.
  const again = options.from !== undefined ? goingAgainOf(runbook, options.from, options.againFrom, options.againFrom ? 'again' : 'run') : undefined;
  const checked = options.check !== false ? await checkHostsFirst(runbook, options, () => void loadDriving().catch(() => undefined)) : undefined;
  let secrets: SecretValues;
  let session: Session;
  let drive: typeof import('./drive-run.js');
  try {
    // Before the session exists: a secret that cannot be had leaves nothing behind.
    secrets = await readSecrets(runbook, options);
    drive = await loadDriving();
    session = drive.newSession(runbook, options);
  } catch (error) {
    await checked?.pool.close();
    throw error;
  }
  if (again && !options.json) process.stderr.write(`${goingAgainLine(again)}\n`);
  return drive.driveRun({
    runbook,
    session,
    connect: options.connect,
    frontEnd: options,
    secrets,
    ...(checked ? { checked } : {}),
    ...(again ? { again } : {}),
  });
}

/** The check before the first step, on the pool the run goes on with: no passphrase is asked twice. */
async function checkHostsFirst(runbook: Runbook, options: RunCommandOptions, whileProbing: () => void): Promise<CheckedPool> {
  const questions = new HandOverInteraction(REFUSE_QUESTIONS);
  const pool = new HostPool(runbook.hosts, { ...options.connect, phaseOrder: runbook.phaseOrder, interaction: questions });
  // ssh -G answers while the check's code loads.
  pool.resolveEarly(hostsCheckedFirst(runbook));
  try {
    const { checkBeforeRun } = await import('./check-command.js');
    // A rollout's check logs in to every host: the run's memory starts here.
    keepHeapNearLive();
    await checkBeforeRun(runbook, { pool, questions, io: plainIO(options, runbook), whileProbing });
  } catch (error) {
    await pool.close();
    throw error;
  }
  return { pool, questions };
}

/** The ssh config a run reads, for groups by alias pattern. */
export function sshConfigOf(connect: { sshConfigFile?: string }): { sshConfigFile?: string } {
  return connect.sshConfigFile !== undefined ? { sshConfigFile: connect.sshConfigFile } : {};
}

/**
 * The runbook's secrets, read or asked (hidden) now, at every run and resume, before step
 * 1; a UserError when one cannot be had. Kept in memory only.
 */
export async function readSecrets(runbook: Runbook, frontEnd: FrontEndOptions): Promise<SecretValues> {
  if (Object.keys(runbook.secrets).length === 0) return SecretValues.none();
  // The full-screen view takes the terminal later: the questions come before it, on a reader of their own.
  const io: QuestionIO = {
    reader: isPlain(frontEnd) ? stdinReader() : { next: () => terminalLine(process.stdin) },
    write: (text) => void process.stdout.write(text),
    json: frontEnd.json,
    ...(process.stdin.isTTY ? { hideTyping: terminalHideTyping } : {}),
    ...questionsOnTerminal(),
  };
  try {
    return await resolveSecrets(runbook, { ask: (secret) => askSecretPlain(io, secret.name, secret.prompt) });
  } catch (error) {
    if (error instanceof SecretError) throw new UserError(visibleLine(error.message));
    throw error;
  }
}

/**
 * One line from the terminal, read without readline: a closed readline interface leaves
 * stdin so that the full-screen view that comes next never gets a key. What follows the
 * line in the same read is dropped (typed ahead of the full-screen view).
 */
function terminalLine(input: NodeJS.ReadStream): Promise<string | null> {
  return new Promise((resolve) => {
    let text = '';
    const done = (line: string | null) => {
      input.off('data', onData).off('end', onEnd);
      input.pause();
      resolve(line);
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const end = text.indexOf('\n');
      if (end !== -1) done(text.slice(0, end).replace(/\r$/, ''));
    };
    const onEnd = () => done(null);
    input.on('data', onData).once('end', onEnd);
  });
}

/** Until the check sets who answers: nobody is asked anything before. */
const REFUSE_QUESTIONS: RemoteInteraction = {
  confirmUnknownHostKey: async () => false,
  askPassphrase: async () => null,
  askSudoPassword: async () => null,
};

/** What the upgrader is told before a run that goes again. */
function goingAgainLine(again: GoingAgain): string {
  const from = `nightshift: starting at phase ${visibleLine(again.phase)}`;
  if (again.session === null) return `${from}; no earlier session of this runbook is known: the steps before it are shown as not run`;
  const values = Object.keys(again.values ?? {});
  return `${from}, going again from session ${again.session}: the steps before it count as done by it${values.length > 0 ? `; its values carried: ${values.map(visibleLine).join(', ')}` : ''}`;
}
