// The one command line nightshift ever sends to sshd. sshd hands it to the user's login
// shell, which may be bash, dash, BusyBox ash, zsh, fish, csh or tcsh (csh: no newlines, and
// "!" is history expansion even inside single quotes), so it is one exec of /bin/sh with a
// single-quoted script, no backslashes and no "!". The real script comes on stdin and runs
// under /bin/sh as well, never under the login shell: every command and check means the
// same on every host. The launcher reports its pid first (see exec.ts): a command whose pid
// line never came never ran. become.ts puts sudo in front of the same script.
// The script is run with eval, not as an argument of a new /bin/sh: an argument is on the
// command line, which every user of the host reads with ps, and a script holds secrets.
// A script made of nothing secret (the check's probe) may travel on the command line
// instead (launcherCarrying): it starts a round trip sooner, since sshd gives a channel no
// window for its input before the command has started.
import { PidLineReader } from './pid-line.js';

/** The launcher's first words: its pid, on stdout for a pty (its one stream), else on stderr. */
const pidLine = (onStdout = false) => `echo "${PidLineReader.tag} $$"${onStdout ? '' : ' >&2'}`;

/** The launcher's /bin/sh script: no single quote in it, so that it can be single-quoted once more. */
export const LAUNCHER_SCRIPT = `${pidLine()}; c=$(cat); eval "$c" </dev/null`;

export const LAUNCHER = `exec /bin/sh -c '${LAUNCHER_SCRIPT}'`;

/**
 * The launcher for a script that reads the channel's input after it (on fd 3): it takes
 * exactly `bytes` bytes of script, with head -c, which reads no further (dd a byte at a time
 * where head has no -c). What comes later on the input is the script's to read.
 */
export function launcherKeepingInput(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`Not a script length: ${bytes}`);
  return `exec /bin/sh -c '${pidLine()}; c=$(head -c ${bytes} 2>/dev/null) || c=$(dd bs=1 count=${bytes} 2>/dev/null); eval "$c" 3<&0 </dev/null'`;
}

/**
 * The launcher for a pty, where stdin never ends: it reads exactly `bytes` bytes of script,
 * and its pid line goes to the one stream a pty has. `fifos`: a folder whose fifos o and e
 * take the command's stdout and stderr (see exec.ts's execInPty).
 */
export function launcherReadingBytes(bytes: number, pidOnStdout: boolean, fifos?: string): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`Not a script length: ${bytes}`);
  if (fifos !== undefined && !/^\/[A-Za-z0-9_./-]+$/.test(fifos)) throw new Error(`Not a fifo folder for the launcher: ${JSON.stringify(fifos)}`);
  const output = fifos === undefined ? '' : ` >${fifos}/o 2>${fifos}/e`;
  return `${pidLine(pidOnStdout)}; c=$(dd bs=1 count=${bytes} 2>/dev/null); eval "$c" </dev/null${output}`;
}

/**
 * The launcher of a shell kept ready (warm-shell.ts): started before its script is known, it
 * waits for a header line (the script's length, and `keep` when the input after the script
 * is the script's, on fd 3) and exactly that many bytes of script, and only then reports its
 * pid: a shell that ends without the pid line never ran its script, and the script may be
 * sent again on a channel of its own. An input that ends first, or a header that is not one,
 * ends it having run nothing.
 */
export const WARM_LAUNCHER = `exec /bin/sh -c 'IFS=" " read -r n k || exit 0; [ "$n" -gt 0 ] 2>/dev/null || exit 0; c=$(head -c $n 2>/dev/null) || c=$(dd bs=1 count=$n 2>/dev/null); ${pidLine()}; if [ "$k" = keep ]; then eval "$c" 3<&0 </dev/null; else eval "$c" </dev/null; fi'`;

/** What a shell kept ready reads before its script: see WARM_LAUNCHER. */
export function warmHeader(bytes: number, keepInput: boolean): string {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`Not a script length: ${bytes}`);
  return `${bytes}${keepInput ? ' keep' : ''}\n`;
}

/** The longest command line sent: dropbear takes one of 9,000 bytes at most. */
export const MAX_COMMAND_LINE = 8000;

/**
 * Bytes that stand in the launcher's printf format as they are: printable ASCII but what the
 * login shell reads inside single quotes (' and csh's !), /bin/sh inside double quotes
 * (" $ ` and backslash) or printf in its format (% and backslash). The rest are written as a
 * backslash and three octal digits, which every shell leaves alone inside single quotes (fish
 * reads a backslash there only before another or a quote) and printf turns back into the byte.
 */
const AS_IS = /^[\x20-\x7e]$/;
const NOT_AS_IS = new Set(["'", '!', '"', '$', '`', '\\', '%']);

/**
 * The launcher with `script` on the command line, for a script that holds nothing secret: no
 * input to send, so the script runs a round trip sooner. null when the line would be longer
 * than MAX_COMMAND_LINE (send it as input then).
 */
export function launcherCarrying(script: string): string | null {
  // A leading newline: a format that starts with "-" would be read as an option.
  let format = '\\012';
  for (const byte of Buffer.from(script, 'utf8')) {
    const char = String.fromCharCode(byte);
    format += AS_IS.test(char) && !NOT_AS_IS.has(char) ? char : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  const line = `exec /bin/sh -c '${pidLine()}; c=$(printf "${format}"); eval "$c" </dev/null'`;
  return line.length <= MAX_COMMAND_LINE ? line : null;
}
