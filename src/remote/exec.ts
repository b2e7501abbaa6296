// One remote command on an open connection: no pty, stdin at end of file (like ssh -n),
// output chunks handed over as they come.
//
// Why a launcher (launcher.ts): the command must run under /bin/sh whatever the login shell
// is, and cancelling must really stop it. sshd refuses signal requests for root logins
// ("session signalling requires privilege separation"), and even when it honours one it
// signals only the shell, not what the shell started. So the command runs under a tiny
// /bin/sh launcher that reports its pid (sshd makes it a process group leader) as the first
// stderr line, then execs /bin/sh on the command (same pid, same exit status or signal).
// Cancelling sends TERM the SSH way and also kills that process group from a second channel.
// Fail closed: a channel that ends without the pid line never ran the launcher (a login
// shell that ignores its command, nologin), so its exit status says nothing of the command.
import type { ClientChannel } from 'ssh2';
import { stripControls } from '../output/neutralize.js';
import {
  newPromptTag,
  passwordFlaw,
  RAW_PTY_MODES,
  SUDO_PASSWORD_TRIES,
  SudoNeedsTtyError,
  SudoPasswordRefusedError,
  SudoPromptReader,
  SudoPromptTimedOutError,
  SudoRefusedError,
  sudoFailure,
  sudoLauncher,
  type SudoAccess,
} from './become.js';
import type { Connection } from './connection.js';
import { abortError, ConnectionLostError, isNotConnected } from './errors.js';
import { LAUNCHER, launcherCarrying, launcherKeepingInput, warmHeader } from './launcher.js';
import { PidLineReader } from './pid-line.js';
import type { ExecHandlers, ExecResult } from './types.js';
import { replaySaid, type TakenShell } from './warm-shell.js';

/** What the login shell printed before giving up is quoted in the error, this much of it. */
const QUOTED_BYTES = 200;

/** How long a cancelled command's pid is awaited before giving up on the group kill. */
const PID_WAIT_MS = 5000;

/**
 * How long sudo may take to start the launcher, from the channel's opening or the password's
 * sending, before it counts as stuck at a question nightshift cannot answer (a second
 * factor, a prompt that is not the one asked for). Time a human takes to type is not counted.
 */
const SUDO_START_MS = 30_000;

/**
 * Runs `command` under /bin/sh on the host; with `sudo`, as root through sudo (become.ts):
 * a refused password is asked again (nothing ran), up to SUDO_PASSWORD_TRIES times, and a
 * host whose sudo wants a terminal gets the command again in a pty.
 */
export async function execOnConnection(connection: Connection, command: string, handlers: ExecHandlers, sudo?: SudoAccess): Promise<ExecResult> {
  if (!sudo) return execStarting(connection, command, handlers);
  try {
    return await execAsRoot(connection, command, handlers, sudo);
  } finally {
    // What ran as root may have changed what a new login gets (the user's groups, its
    // ~/.bashrc, its limits): a shell kept ready since is not the next command's.
    void connection.dropKeptShell();
  }
}

async function execAsRoot(connection: Connection, command: string, handlers: ExecHandlers, sudo: SudoAccess): Promise<ExecResult> {
  for (let tries = 1; ; ) {
    try {
      if (sudo.needsPty) return await execInPty(connection, command, handlers, sudo);
      return await execStarting(connection, command, handlers, sudo);
    } catch (error) {
      if (error instanceof SudoNeedsTtyError && !sudo.needsPty) {
        sudo.markNeedsPty();
        sudo.notice?.(`nightshift: sudo on ${sudo.host} requires a terminal (Defaults requiretty): sudo is called in a pty there from now on`);
        continue;
      }
      // sudo's own wait for the password ran out while the upgrader typed: once more, with what they typed.
      if (error instanceof SudoPromptTimedOutError && tries < SUDO_PASSWORD_TRIES) {
        tries++;
        continue;
      }
      if (!(error instanceof SudoPasswordRefusedError)) throw error;
      sudo.forget();
      if (tries >= SUDO_PASSWORD_TRIES) {
        throw new SudoPasswordRefusedError(
          `sudo on ${sudo.host} refused the password for ${sudo.user} ${tries} times; nothing ran. It wants the password of ${sudo.user} on ${sudo.host}; check it, or give ${sudo.user} a NOPASSWD rule there.`,
        );
      }
      tries++;
      sudo.notice?.(`nightshift: sudo on ${sudo.host} refused the password for ${sudo.user}; asking again`);
    }
  }
}

/**
 * A requiretty host: sudo gets a pty, but a pty has one stream. So the command's stdout and
 * stderr go to two fifos in a private folder of the login user's, made and read by a relay
 * on a channel of its own (no pty, no sudo), whose stdout and stderr are the command's. The
 * pty carries only sudo's prompt, the password and the launcher's pid line; the exit status
 * is the pty channel's, once the relay has passed on everything.
 */
async function execInPty(connection: Connection, command: string, handlers: ExecHandlers, sudo: SudoAccess): Promise<ExecResult> {
  const stopRelay = new AbortController();
  const relaySignal = handlers.signal ? AbortSignal.any([handlers.signal, stopRelay.signal]) : stopRelay.signal;
  let head = '';
  let folder: string | undefined;
  let found!: (dir: string) => void;
  let failed!: (error: unknown) => void;
  const known = new Promise<string>((resolve, reject) => {
    found = resolve;
    failed = reject;
  });
  const relay = execOnce(connection, PTY_RELAY_SCRIPT, {
    onStdout: (chunk) => handlers.onStdout(chunk),
    onStderr: (chunk) => {
      if (folder !== undefined) return handlers.onStderr(chunk);
      head += chunk.toString('latin1');
      const newline = head.indexOf('\n');
      if (newline < 0) return;
      const match = /^nightshift-fifos (\/[A-Za-z0-9_./-]+)$/.exec(head.slice(0, newline));
      folder = match?.[1] ?? '';
      if (match) found(folder);
      else
        failed(
          new Error(
            `Could not run the command through sudo on ${sudo.host}: the relay for its output said ${JSON.stringify(stripControls(head.slice(0, newline)).slice(0, QUOTED_BYTES))}.`,
          ),
        );
      const rest = head.slice(newline + 1);
      if (rest.length > 0) handlers.onStderr(Buffer.from(rest, 'latin1'));
    },
    signal: relaySignal,
  });
  relay.then(
    (result) =>
      failed(
        new Error(
          `Could not run the command through sudo on ${sudo.host}: no fifos for its output could be made in /tmp as ${sudo.user} (exit status ${result.exitCode ?? result.signal}).`,
        ),
      ),
    failed,
  );
  let fifos: string;
  try {
    fifos = await known;
  } catch (error) {
    stopRelay.abort();
    await relay.catch(() => undefined);
    throw error;
  }
  let result: ExecResult;
  try {
    result = await execOnce(connection, command, handlers, sudo, fifos);
  } catch (error) {
    stopRelay.abort();
    await relay.catch(() => undefined);
    throw error;
  }
  // The relay ends once the command and whatever it left running closed the fifos.
  await relay;
  return result;
}

/** Makes the fifos (reported on stderr first), passes them on, and removes them at the end or on TERM. */
const PTY_RELAY_SCRIPT = [
  'd=$(mktemp -d "/tmp/nightshift-pty.XXXXXXXX") || exit 70',
  'trap \'rm -rf "$d"; exit 143\' TERM HUP',
  'mkfifo "$d/o" "$d/e" || { rm -rf "$d"; exit 70; }',
  'printf \'nightshift-fifos %s\\n\' "$d" >&2',
  'cat "$d/o" & o=$!',
  'cat "$d/e" >&2 & e=$!',
  'wait $o; wait $e',
  'rm -rf "$d"',
].join('\n');

/** How often a command whose exec request the server refused is asked for again, and the pause before each. */
const START_ATTEMPTS = 8;
const START_PAUSE_MS = 100;

/**
 * The server refused the exec request itself: sshd never handed the launcher to a shell, so
 * nothing ran and asking again is safe. dropbear 2022.82-83 does this to a channel opened
 * while another command of the same connection ends (mkj/dropbear#173), and OpenSSH at
 * MaxSessions.
 */
class CommandNotStartedError extends Error {
  override readonly name = 'CommandNotStartedError';
}

async function execStarting(connection: Connection, command: string, handlers: ExecHandlers, sudo?: SudoAccess): Promise<ExecResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await execOnce(connection, command, handlers, sudo);
    } catch (error) {
      if (!(error instanceof CommandNotStartedError) || attempt >= START_ATTEMPTS || handlers.signal?.aborted || !connection.isAlive) throw error;
      // A server with few sessions may have refused the channel for the SFTP session kept for an upload, or the shell kept ready.
      await connection.makeRoomForSessions();
      await new Promise((resolve) => setTimeout(resolve, START_PAUSE_MS * attempt));
    }
  }
}

async function execOnce(connection: Connection, command: string, handlers: ExecHandlers, sudo?: SudoAccess, fifos?: string): Promise<ExecResult> {
  const script = Buffer.from(command, 'utf8');
  const keepInput = sudo ? undefined : handlers.keepInput;
  const carrying = handlers.scriptIsPublic && !sudo && !keepInput ? launcherCarrying(command) : null;
  // Without sudo, and not on the command line: the script goes to the shell kept ready, if one is.
  let warm: TakenShell | null = null;
  if (!sudo && carrying === null && script.length > 0) warm = await connection.takeShell();
  else if (!sudo) connection.keepShellReady();
  return runOn(connection, warm, { script, keepInput, carrying }, handlers, sudo, fifos);
}

function runOn(
  connection: Connection,
  warm: TakenShell | null,
  sending: { script: Buffer; keepInput: ExecHandlers['keepInput']; carrying: string | null },
  handlers: ExecHandlers,
  sudo?: SudoAccess,
  fifos?: string,
): Promise<ExecResult> {
  const { host } = connection;
  const where = `${host.name} (${host.address}:${host.port})`;
  const { script, keepInput, carrying } = sending;
  return new Promise<ExecResult>((resolve, reject) => {
    const { signal } = handlers;
    if (signal?.aborted) {
      // The shell kept ready runs nothing once its input ends.
      warm?.channel.end();
      return reject(abortError());
    }
    let settled = false;
    let channel: ClientChannel | undefined;
    const pidReader = new PidLineReader();
    // In a pty (a requiretty host) there is one stream: the pid line and sudo's prompt come on stdout.
    const pty = sudo?.needsPty ?? false;
    const tag = sudo ? newPromptTag() : '';
    const promptReader = sudo ? new SudoPromptReader(tag, pty) : undefined;
    // A shell kept ready reads the script's length first (WARM_LAUNCHER).
    const first = warm ? Buffer.concat([Buffer.from(warmHeader(script.length, keepInput !== undefined)), script]) : script;

    let stuck: NodeJS.Timeout | undefined;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(stuck);
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const onAbort = () => {
      if (channel) stopRemote(connection, channel, pidReader, sudo);
      finish(() => reject(abortError()));
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const opening = (error: Error | undefined, opened: ClientChannel) => {
      if (error) {
        return finish(() =>
          reject(
            connection.isAlive
              ? new CommandNotStartedError(`Could not start the command on ${where}: ${error.message}.`)
              : new ConnectionLostError(`The connection to ${where} dropped before the command could start.`),
          ),
        );
      }
      channel = opened;
      // Armed while sudo works, off while a human is asked: see SUDO_START_MS.
      const watchSudo = (on: boolean) => {
        clearTimeout(stuck);
        if (!sudo || !on || settled) return;
        stuck = setTimeout(() => {
          if (pidReader.foundPid !== null) return;
          opened.close();
          const said =
            stripControls(promptReader?.said ?? '')
              .trim()
              .split('\n')
              .at(-1)
              ?.slice(0, QUOTED_BYTES) ?? '';
          finish(() =>
            reject(
              new SudoRefusedError(
                `sudo on ${sudo.host} did not start the command for ${sudo.user} within ${SUDO_START_MS / 1000} s (${said ? `it said: ${said}` : 'it printed nothing'}); ` +
                  'nothing ran. nightshift answers only the password prompt it asks sudo for; a second factor or another prompt in its PAM setup needs a NOPASSWD rule for this user.',
              ),
            ),
          );
        }, SUDO_START_MS);
        stuck.unref?.();
      };
      watchSudo(true);
      let exit: ExecResult | undefined;
      // What came before the pid line: all the login shell said, if the launcher never ran.
      let said = '';
      const remember = (chunk: Buffer) => {
        if (pidReader.foundPid === null && said.length < QUOTED_BYTES) said += chunk.toString('utf8');
      };
      let prompts = 0;
      let scriptSent = false;
      // Without sudo the script goes at once; through sudo only after the pid line, so that
      // nothing but the password ever reaches sudo's prompt, and nothing of it the command.
      const sendScript = () => {
        if (scriptSent) return;
        scriptSent = true;
        if (pty) opened.write(script);
        else if (keepInput) {
          opened.write(first);
          let ended = false;
          keepInput({
            get open() {
              return !ended && !settled && opened.writable;
            },
            write: (text) => {
              if (!ended && opened.writable) opened.write(text);
            },
            end: () => {
              if (ended) return;
              ended = true;
              if (opened.writable) opened.end();
            },
          });
        } else if (carrying !== null) opened.end();
        else opened.end(first);
      };
      const onPrompts = (count: number) => {
        if (count === 0 || !sudo) return;
        prompts += count;
        if (prompts > 1) {
          opened.close();
          return finish(() => reject(new SudoPasswordRefusedError(`sudo on ${sudo.host} refused the password for ${sudo.user}.`)));
        }
        watchSudo(false);
        void sudo.password().then(
          (password) => {
            if (settled) return;
            watchSudo(true);
            const flaw = password === null ? null : passwordFlaw(password);
            if (password === null || flaw !== null) {
              // Not kept: the next command asks again instead of failing the same way.
              if (flaw !== null) sudo.forget();
              opened.close();
              return finish(() =>
                reject(
                  new SudoRefusedError(
                    password === null
                      ? `No sudo password for ${sudo.user} on ${sudo.host} was given, so the command did not run; give it, or a NOPASSWD rule there.`
                      : `The sudo password for ${sudo.user} on ${sudo.host} cannot be used: ${flaw}.`,
                  ),
                ),
              );
            }
            opened.write(`${password}\n`);
          },
          (error: unknown) => {
            opened.close();
            finish(() => reject(error));
          },
        );
      };
      // Before the pid line: sudo's prompts are taken off, then the pid line itself.
      // Through sudo, what came before the pid line is held back: an attempt sudo refused
      // gives none of its words to the command's output (they go into the error instead).
      const preamble: Buffer[] = [];
      const beforeCommand = (chunk: Buffer): Buffer => {
        if (!promptReader) return pidReader.feed(chunk);
        if (pidReader.foundPid !== null) return chunk;
        const { rest, prompts: seen } = promptReader.feed(chunk);
        onPrompts(seen);
        preamble.push(pidReader.feed(rest));
        if (pidReader.foundPid === null) return Buffer.alloc(0);
        watchSudo(false);
        // The script goes only now, so nothing after the pid line is the command's yet.
        preamble.push(promptReader.stop());
        sendScript();
        return withoutSudoWords(Buffer.concat(preamble));
      };
      opened.on('data', (chunk: Buffer) => {
        const rest = pty ? beforeCommand(chunk) : chunk;
        remember(rest);
        if (!settled && rest.length > 0) handlers.onStdout(rest);
      });
      opened.stderr.on('data', (chunk: Buffer) => {
        const rest = pty ? chunk : beforeCommand(chunk);
        remember(rest);
        if (!settled && rest.length > 0) handlers.onStderr(rest);
      });
      opened.on('exit', (code: number | null, signalName?: string) => {
        exit = code === null ? { exitCode: null, signal: signalName ?? 'unknown' } : { exitCode: code };
      });
      opened.on('close', () => {
        pidReader.end();
        const conclude = () =>
          finish(() => {
            const held = pidReader.flush();
            // A sudo that never started the launcher said it to the error, not to the output.
            if (held.length > 0 && !(sudo && pidReader.foundPid === null)) handlers.onStderr(held);
            remember(held);
            if (exit && pidReader.foundPid === null && sudo) reject(sudoFailure(sudo, promptReader?.said ?? said, exit.exitCode));
            else if (exit && pidReader.foundPid === null && warm)
              reject(new CommandNotStartedError(`Could not start the command on ${where}: the shell kept ready for it ended before it read the command.`));
            else if (exit && pidReader.foundPid === null) reject(launcherNeverRan(where, exit, said));
            else if (exit) resolve(exit);
            else if (!connection.isAlive)
              reject(new ConnectionLostError(`The connection to ${where} dropped while the command was running; it may or may not still be running there.`));
            else reject(new Error(`The command on ${where} ended without reporting an exit status.`));
          });
        // ssh2 emits 'close' once stdout has ended; stderr's last chunks may still be queued.
        if (opened.stderr.readableEnded || opened.stderr.destroyed) conclude();
        else opened.stderr.once('end', conclude).once('close', conclude);
      });
      if (!sudo) sendScript();
      // Cancelled while the channel was opening.
      if (settled) stopRemote(connection, opened, pidReader, sudo);
    };
    if (warm) {
      opening(undefined, warm.channel);
      replaySaid(warm);
      return;
    }
    try {
      if (!sudo) connection.client.exec(carrying ?? (keepInput ? launcherKeepingInput(script.length) : LAUNCHER), opening);
      else if (!pty) connection.client.exec(sudoLauncher(tag), opening);
      else
        connection.client.exec(
          sudoLauncher(tag, { bytes: script.length, ...(fifos ? { fifos } : {}) }),
          { pty: { term: 'dumb', rows: 24, cols: 200, modes: RAW_PTY_MODES } },
          opening,
        );
    } catch (error) {
      if (isNotConnected(error)) connection.markLost();
      finish(() => reject(connection.isAlive ? error : new ConnectionLostError(`The connection to ${where} dropped before the command could start.`)));
    }
  });
}

/** The login shell's words before sudo's launcher, without sudo's own ("Sorry, try again."). */
function withoutSudoWords(preamble: Buffer): Buffer {
  return Buffer.from(preamble.toString('latin1').replace(/^Sorry, try again\.\r?\n/gm, ''), 'latin1');
}

function launcherNeverRan(where: string, exit: ExecResult, said: string): Error {
  const ended = exit.exitCode === null ? `was killed by signal ${exit.signal ?? 'unknown'}` : `ended with exit status ${exit.exitCode}`;
  const words = stripControls(said.trim().split('\n')[0] ?? '')
    .trim()
    .slice(0, QUOTED_BYTES);
  return new Error(
    `The command did not run on ${where}: the login shell there did not start nightshift's /bin/sh launcher ` +
      `(it ${ended} and ${words ? `said: ${words}` : 'printed nothing'}); give the user a usual login shell (sh, bash, csh, fish) and try again.`,
  );
}

/**
 * TERM by SSH signal request and to the command's process group, then the channel is closed.
 * A command run through sudo is root's: the kill goes through sudo too, and comes first: sudo
 * would pass the signal request's TERM on to the launcher alone, whose children would then
 * be left running without a way to find their group.
 */
function stopRemote(connection: Connection, channel: ClientChannel, pidReader: PidLineReader, sudo?: SudoAccess): void {
  if (!sudo) sendSignal(channel, 'TERM');
  const ignore = () => {};
  const killing = pidReader
    .waitForPid(PID_WAIT_MS)
    .then((pid) => {
      if (pid === null) return undefined;
      if (!sudo) return connection.runQuietly(`kill -TERM -${pid} 2>/dev/null || kill -TERM ${pid}`);
      // Under sudo the launcher is sudo's child, in sudo's process group (sshd made sudo its
      // leader): that group is what the command and its children are in (/proc's 5th field).
      const kill = `g=$(sed 's/^.*) //' /proc/${pid}/stat 2>/dev/null | cut -d' ' -f3); { [ -n "$g" ] && kill -TERM -"$g"; } 2>/dev/null || kill -TERM ${pid}`;
      return execOnConnection(connection, kill, { onStdout: ignore, onStderr: ignore, signal: AbortSignal.timeout(PID_WAIT_MS * 2) }, sudo).then(
        () => undefined,
        () => undefined,
      );
    })
    .finally(() => {
      if (sudo) sendSignal(channel, 'TERM');
      channel.close();
    });
  connection.track(killing);
}

interface ChannelInternals {
  outgoing?: { id: number; state: string };
  _client?: { _protocol?: { signal(id: number, name: string): void } };
}

/**
 * ssh2's Channel.signal() does nothing once stdin has been ended, though the protocol allows
 * a signal request after EOF (only CLOSE ends requests); so it is sent the way signal() would.
 */
function sendSignal(channel: ClientChannel, name: string): void {
  const internals = channel as unknown as ChannelInternals;
  const state = internals.outgoing?.state;
  const protocol = internals._client?._protocol;
  if (internals.outgoing && protocol && (state === 'open' || state === 'eof')) {
    protocol.signal(internals.outgoing.id, name);
  } else {
    channel.signal(name);
  }
}

/** Runs a script whose whole answer is read at the end: stdout and stderr as text, and how it ended. */
export async function execCaptured(
  connection: Connection,
  script: string,
  signal?: AbortSignal,
  sudo?: SudoAccess,
): Promise<{ stdout: string; stderr: string; result: ExecResult }> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const result = await execOnConnection(
    connection,
    script,
    {
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: (chunk) => stderr.push(chunk),
      ...(signal ? { signal } : {}),
    },
    sudo,
  );
  return { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), result };
}
