// `become: sudo`: a command runs as root through sudo, on a login as an ordinary user.
//
// The launcher line (launcher.ts) becomes `exec sudo -S -k -H -p TAG /bin/sh -c '<launcher>'`:
// sudo reads the password from stdin (-S), never from its cache (-k: every command proves
// it again, so a cached ticket cannot hide a wrong password until the worst moment), gives
// root's HOME (-H: where sudo would keep the user's, root's run folders would land in the
// user's home), and prompts with TAG, a random word per command, on stderr. nightshift
// writes the password and a newline only once it saw TAG, and the script only once the
// launcher's pid line came: the password never goes to the command, and a NOPASSWD rule
// (no prompt) gets nothing but the script. A second TAG means the password was refused: the
// channel is closed (nothing ran) and the upgrader asked again. The password is never on a
// command line, in a file, or in anything logged: only on the channel's stdin, encrypted.
//
// `Defaults requiretty`: sudo refuses without a terminal ("you must have a tty"). That
// refusal comes before anything ran, so the command is started again, at once, in a pty, and
// the host remembered as needing one (or from the start with the host's `become_pty: true`).
// The pty is asked for with ECHO, ICANON, ISIG, IXON, ICRNL and OPOST off, so the password is
// not echoed back, ^C/^D/^S are plain bytes, lines have no 4096-byte limit and output keeps
// its LF. A pty has no end of file to give, so the launcher reads exactly the script's byte
// count (dd), which the launcher line carries. A pty has one stream, so the command's stdout
// and stderr go to two fifos that a relay on a second channel (no pty, no sudo) passes on
// as stdout and stderr (exec.ts, execInPty): every command, detached runs' followers
// included, keeps its two streams. The pty itself carries only the prompt, the password
// and the pid line.
import { randomBytes } from 'node:crypto';
import { stripControls } from '../output/neutralize.js';
import { LAUNCHER_SCRIPT, launcherReadingBytes } from './launcher.js';
import type { RemoteInteraction } from './types.js';

export type Become = 'sudo';

/** What a command run through sudo needs: the password (asked once per host), and whether the host needs a pty. */
export interface SudoAccess {
  /** The runbook's host name, for messages. */
  readonly host: string;
  /** The login user sudo is asked as. */
  readonly user: string;
  /** The password known for the host, or asked now (hidden); null when the upgrader gave none. */
  password(): Promise<string | null>;
  /** The password was refused: the next prompt asks again. */
  forget(): void;
  /** The host needs a pty for sudo (`become_pty: true`, or it said requiretty once). */
  readonly needsPty: boolean;
  /** The host said requiretty: from now on every sudo call there gets a pty. */
  markNeedsPty(): void;
  /** Something to tell the upgrader once (e.g. the switch to a pty). */
  notice?(text: string): void;
}

/**
 * The sudo passwords of a run's hosts, in memory only (never written, never logged), and
 * which hosts need a pty. One per host pool: a password is asked once per host, then
 * reused, after a reconnect too; forgotten when sudo refuses it. Commands that need it at
 * the same time wait for the same question.
 */
export class SudoCredentials {
  private readonly hosts = new Map<string, { password?: string; asking?: Promise<string | null>; refused: boolean; needsPty: boolean }>();

  constructor(
    private readonly interaction: Pick<RemoteInteraction, 'askSudoPassword'>,
    private readonly ptyFromStart: (host: string) => boolean,
  ) {}

  accessFor(host: string, user: string, notice?: (text: string) => void): SudoAccess {
    let known = this.hosts.get(host);
    if (!known) this.hosts.set(host, (known = { refused: false, needsPty: this.ptyFromStart(host) }));
    const state = known;
    const { interaction } = this;
    return {
      host,
      user,
      get needsPty() {
        return state.needsPty;
      },
      markNeedsPty: () => {
        state.needsPty = true;
      },
      password: () => {
        if (state.password !== undefined) return Promise.resolve(state.password);
        state.asking ??= interaction.askSudoPassword(host, user, state.refused).then(
          (answer) => {
            state.asking = undefined;
            if (answer !== null) {
              state.password = answer;
              state.refused = false;
            }
            return answer;
          },
          (error: unknown) => {
            state.asking = undefined;
            throw error;
          },
        );
        return state.asking;
      },
      forget: () => {
        state.password = undefined;
        state.refused = true;
      },
      ...(notice ? { notice } : {}),
    };
  }
}

/** How often a refused password is asked again before the command fails. */
export const SUDO_PASSWORD_TRIES = 3;

/** A prompt word sudo cannot mistake for an escape (no %) and no shell can expand. */
export function newPromptTag(): string {
  return `nightshift-sudo-password-${randomBytes(8).toString('hex')}:`;
}

/** The line sent to sshd to run the launcher as root: no pipe: stdin to end of file; pty: `bytes` of script. */
export function sudoLauncher(tag: string, pty?: { bytes: number; fifos?: string }): string {
  const script = pty ? launcherReadingBytes(pty.bytes, true, pty.fifos) : LAUNCHER_SCRIPT;
  return `exec sudo -S -k -H -p '${tag}' /bin/sh -c '${script}'`;
}

/**
 * Terminal modes for the pty of a requiretty host (RFC 4254 8 opcodes as ssh2 names them):
 * no echo, no line editing, no signals from bytes, no flow control, no CR/LF changes.
 */
export const RAW_PTY_MODES = {
  ECHO: 0,
  ECHOE: 0,
  ECHOK: 0,
  ECHONL: 0,
  ICANON: 0,
  ISIG: 0,
  IEXTEN: 0,
  IXON: 0,
  IXOFF: 0,
  ICRNL: 0,
  INLCR: 0,
  IGNCR: 0,
  OPOST: 0,
  ONLCR: 0,
} as const;

/** The password cannot be passed to sudo -S as one line. */
export function passwordFlaw(password: string): string | null {
  if (/[\n\r\0]/.test(password)) return 'it holds a line break or a NUL byte, which sudo -S would cut it at';
  return null;
}

/** sudo refused the password: nothing ran. */
export class SudoPasswordRefusedError extends Error {
  override readonly name = 'SudoPasswordRefusedError';
}

/** sudo wants a terminal (Defaults requiretty): nothing ran; the same command may go again in a pty. */
export class SudoNeedsTtyError extends Error {
  override readonly name = 'SudoNeedsTtyError';
}

/** sudo could not or would not run the command; nothing ran. */
export class SudoRefusedError extends Error {
  override readonly name: string = 'SudoRefusedError';
}

/** sudo stopped waiting for the password (its passwd_timeout) while the upgrader was still typing it: nothing ran, and it may go again. */
export class SudoPromptTimedOutError extends SudoRefusedError {
  override readonly name = 'SudoPromptTimedOutError';
}

/**
 * Watches what comes before the launcher's pid line for sudo's prompt word. feed() takes
 * a chunk and gives back what is not a prompt, with how many prompts it held; sudo's own
 * "Sorry, try again." is dropped (it is no output of the command).
 */
export class SudoPromptReader {
  private held = '';
  private done = false;
  private atLineStart = true;
  /** Everything sudo and the login shell said before the pid line, for the error when it never comes. */
  said = '';

  /** `pty`: sudo ends the hidden input with a newline of its own there; empty lines before the pid line are dropped. */
  constructor(
    private readonly tag: string,
    private readonly pty = false,
  ) {}

  feed(chunk: Buffer): { rest: Buffer; prompts: number } {
    if (this.done) return { rest: chunk, prompts: 0 };
    let text = this.held + chunk.toString('latin1');
    this.held = '';
    let prompts = 0;
    for (let at = text.indexOf(this.tag); at >= 0; at = text.indexOf(this.tag)) {
      prompts++;
      text = text.slice(0, at) + text.slice(at + this.tag.length);
    }
    // A tag cut between two chunks: its start is held back until the next one.
    for (let keep = Math.min(this.tag.length - 1, text.length); keep > 0; keep--) {
      if (this.tag.startsWith(text.slice(text.length - keep))) {
        this.held = text.slice(text.length - keep);
        text = text.slice(0, text.length - keep);
        break;
      }
    }
    text = text.replace(/^Sorry, try again\.\r?\n/gm, '');
    if (this.pty) text = this.withoutEmptyLines(text);
    if (this.said.length < 2048) this.said += text;
    return { rest: Buffer.from(text, 'latin1'), prompts };
  }

  private withoutEmptyLines(text: string): string {
    let kept = '';
    for (const char of text) {
      if (this.atLineStart && (char === '\n' || char === '\r')) continue;
      kept += char;
      this.atLineStart = char === '\n';
    }
    return kept;
  }

  /** The pid line came: what follows is the command's own. */
  stop(): Buffer {
    this.done = true;
    const held = this.held;
    this.held = '';
    return Buffer.from(held, 'latin1');
  }
}

/**
 * Why sudo did not start the launcher, from what it said and how it ended; every error
 * names the host, the user and what to change.
 */
export function sudoFailure(access: Pick<SudoAccess, 'host' | 'user'>, said: string, exitCode: number | null): Error {
  const { host, user } = access;
  const words = stripControls(said).trim();
  const quoted =
    words
      .split('\n')
      .find((line) => /sudo/i.test(line))
      ?.trim() ??
    words.split('\n')[0]?.trim() ??
    '';
  const quote = quoted ? ` (it said: ${quoted.slice(0, 200)})` : '';
  if (/must have a tty|a terminal is required|no tty present/i.test(words)) {
    return new SudoNeedsTtyError(`sudo on ${host} requires a terminal for ${user} (Defaults requiretty)${quote}.`);
  }
  if (/not in the sudoers file|is not allowed to (run|execute)|may not run sudo|not allowed to run sudo/i.test(words)) {
    return new SudoRefusedError(
      `sudo on ${host} does not let ${user} run commands as root${quote}: add a rule for ${user} in /etc/sudoers.d/ on ${host} (e.g. "${user} ALL=(ALL) ALL"), or remove become: sudo from the runbook.`,
    );
  }
  if (/incorrect password attempt/i.test(words)) {
    return new SudoPasswordRefusedError(`sudo on ${host} refused the password for ${user}.`);
  }
  if (/timed out reading password/i.test(words)) {
    return new SudoPromptTimedOutError(`sudo on ${host} gave up waiting for the password of ${user}${quote} (its passwd_timeout); run the step again.`);
  }
  if (exitCode === 127 || /sudo: (command )?not found|sudo: No such file|not found.*sudo/i.test(words)) {
    return new SudoRefusedError(
      `sudo is not installed on ${host}, or not on the PATH of ${user} there${quote}: install it (apt-get install sudo), or remove become: sudo from the runbook and log in as root.`,
    );
  }
  return new SudoRefusedError(
    `sudo on ${host} did not start the command as root for ${user}${quote || ` (it ended with exit status ${exitCode ?? 'unknown'} and printed nothing)`}; check the sudoers rules for ${user} there.`,
  );
}
