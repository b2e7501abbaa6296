// The one command line nightshift ever sends to sshd. sshd hands it to the user's login
// shell, which may be bash, dash, BusyBox ash, zsh, fish, csh or tcsh (csh: no newlines, and
// "!" is history expansion even inside single quotes), so it is one exec of /bin/sh with a
// single-quoted script, no backslashes and no "!". The real script comes on stdin and runs
// under /bin/sh as well, never under the login shell: every command and check means the
// same on every host. The launcher reports its pid first (see exec.ts): a command whose pid
// line never came never ran.
import { PidLineReader } from './pid-line.js';

export const LAUNCHER = `exec /bin/sh -c 'echo "${PidLineReader.tag} $$" >&2; c=$(cat); exec /bin/sh -c "$c" </dev/null'`;
