// Shell scripts for commands that outlive their SSH channel. A step runs under a small
// wrapper started with systemd-run (when systemd manages the host and we are root) or
// setsid, in a run folder of its own on the target (run-folders.ts says where):
//
//   command   the step's command          out, err  what it printed, appended
//   pid       the wrapper's pid (a process group and session leader)
//   boot      the host's boot id when the command started
//   exit      its exit status, written last
//   out.cut, err.cut   why the host could not write more of that stream (ENOSPC, EROFS, ...)
//   started   made once, before the command starts: whoever finds it never starts it again
//   lock      held (flock) by the wrapper until it has written exit; gone where flock is not
//
// The start script claims the folder and starts the command, or finds it started. Then one
// channel follows out and err from byte offsets nightshift counts itself, so after a dropped
// link exactly the missing bytes are asked for; a follow never starts anything. A third
// script collects the status, reading only: its answer may be lost with the link, so it must
// be possible to ask again (and to follow again). A boot id other than the one recorded
// means the host restarted under the command: it died with it, and a pid from that earlier
// boot is never followed or signalled. Only once the result is recorded on nightshift's side
// is the output released; `started` and `exit` stay behind, so even then the command is
// never started a second time. Everything is POSIX sh, run by /bin/sh.
import { shellQuote } from '../runbook/shell-quote.js';
import { BOOT_ID_FUNCTION, SINK_FUNCTIONS, VALUE_FUNCTIONS } from './host-shell.js';
import { launcherChoice, runFolderFunctions } from './run-folders.js';

/** Exit statuses of the start script. */
export const START_FAILURES: Record<number, string> = {
  97: 'this host has neither systemd-run nor setsid, so a detached step cannot run there (use attach: false)',
  98: 'the detached command did not start within 10 s',
};
/** The start script found no base it could write a run folder in; its skipped= lines say why. */
export const NO_RUN_FOLDER = 95;
/** systemd-run refused the unit; its words are on stderr. */
export const SYSTEMD_RUN_FAILED = 99;

/** Exit statuses of the follow script, beyond the 0 of a complete follow. */
export const FOLLOW_FAILURES: Record<number, string> = {
  94: 'the command already ended and its output was released after its result had been recorded; it is not started again',
  96: 'its run folder is gone from the host (removed, or a restart emptied /tmp), so what became of the command cannot be told; it is not started again',
  98: 'the detached command did not start within 10 s',
};
/** The follow script found the host restarted since the command started (and no exit status). */
export const HOST_RESTARTED = 93;

const WRAPPER = [
  'd=${0%/*}',
  VALUE_FUNCTIONS,
  SINK_FUNCTIONS,
  // The lock is taken before the pid is written, so a follow that finds the pid finds it held
  // (or given up, with the file removed: then it watches the pid as before). Nothing else holds
  // it: the command, the sinks and whatever they leave behind get fd 9 closed, so the lock
  // goes when the wrapper does, by its end or by kill -9, reaped or not.
  'if [ -e "$d/lock" ]; then { command exec 9<"$d/lock"; } 2>/dev/null && flock -n 9 2>/dev/null || { command exec 9<&-; rm -f "$d/lock"; }; fi',
  'put pid $$',
  // A handler (not an ignore, which the command would inherit): the wrapper outlives a
  // TERM sent to the group long enough to record the command's status.
  "trap 'true' TERM HUP INT",
  'if mkfifo "$d/out.pipe" "$d/err.pipe" 2>/dev/null; then',
  // Closed by exec: a redirection on the call would leave the shell a saved copy of fd 9.
  '  { exec 9<&-; sink out; } < "$d/out.pipe" & po=$!',
  '  { exec 9<&-; sink err; } < "$d/err.pipe" & pe=$!',
  '  /bin/sh "$d/command" </dev/null >"$d/out.pipe" 2>"$d/err.pipe" 9<&-',
  '  s=$?',
  '  settle $po $pe',
  '  rm -f "$d/out.pipe" "$d/err.pipe"',
  'else',
  '  /bin/sh "$d/command" </dev/null >>"$d/out" 2>>"$d/err" 9<&-',
  '  s=$?',
  'fi',
  'put exit $s',
].join('\n');

/**
 * Starts the command detached unless it already was. Prints `dir=`, `state=new` or
 * `state=started`, a `skipped=` line per run folder base it could not use, then `end=ok`.
 */
export function startScript(runId: string, command: string, runDir?: string): string {
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    BOOT_ID_FUNCTION,
    'if find_run started "$@"; then echo "dir=$d"; echo state=started; echo end=ok; exit 0; fi',
    launcherChoice(),
    'write_files() {',
    `  printf '%s' ${shellQuote(command)} | cat > "$1/command" &&`,
    `  printf '%s\\n' ${shellQuote(WRAPPER)} | cat > "$1/run" &&`,
    '  : > "$1/out" && : > "$1/err" &&',
    // Made here, with the folder: the wrapper opens it without needing a free inode.
    '  { ! command -v flock >/dev/null 2>&1 || : > "$1/lock"; }',
    '}',
    // The command file holds the step's command as sent, secrets included: only its owner
    // reads the run folder. The command itself gets the umask the login gave.
    'u=$(umask); umask 077',
    `make_run "$@" || exit ${NO_RUN_FOLDER}`,
    `mkdir "$d/started" || exit ${NO_RUN_FOLDER}`,
    'b=$(boot_id); [ -z "$b" ] || put boot "$b"',
    'umask "$u"',
    'if [ $how = systemd ]; then',
    `  e=$(systemd-run --quiet --collect --unit=${shellQuote(unitName(runId))} /bin/sh "$d/run" 2>&1 </dev/null) || { echo "$e" >&2; exit ${SYSTEMD_RUN_FAILED}; }`,
    'else',
    '  setsid /bin/sh "$d/run" </dev/null >/dev/null 2>&1 &',
    'fi',
    'i=0',
    'while ! has pid; do i=$((i+1)); [ $i -gt 100 ] && exit 98; sleep 0.1; done',
    'echo "dir=$d"; echo state=new; echo end=ok',
  ].join('\n');
}

/**
 * Prints the command's stdout on stdout and its stderr on stderr from the given offsets until
 * it has ended, and nothing else. Never starts it. Exits HOST_RESTARTED, after what the files
 * hold, when the host restarted under the command.
 */
export function followScript(runId: string, offsets: { out: number; err: number }, runDir?: string): string {
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    BOOT_ID_FUNCTION,
    'find_run started "$@" || exit 96',
    // Ended and released (its result was recorded): never run again, whoever asks.
    'has exit && [ ! -e "$d/out" ] && exit 94',
    'restarted=; b=$(get boot); n=$(boot_id)',
    'if ! has exit && [ -n "$b" ] && [ "$b" != "$n" ]; then restarted=yes; fi',
    'if [ -z "$restarted" ]; then',
    '  i=0',
    '  while ! has pid; do i=$((i+1)); [ $i -gt 100 ] && exit 98; sleep 0.1; done',
    '  pid=$(get pid)',
    // The wrapper writes exit last, once its output is all in the files, and then lets go of
    // its lock: a shared flock on it returns then, or at once when it has gone already, even
    // as a zombie that the host's init never reaps. tail follows that watcher. A follow cut
    // by a dropped link leaves it waiting at most as long as the command runs.
    // Where flock is missing or fails, the watcher polls instead: the pid may outlive the
    // wrapper as a zombie for as long as init takes to reap orphans (for ever for one that
    // never reaps), so it ends at the first of the pid gone and exit written, and when
    // this script goes, so that a follow cut by a dropped link leaves none behind.
    '  watch_by_polling() { while kill -0 "$pid" 2>/dev/null && ! has exit && kill -0 $$ 2>/dev/null; do sleep 0.1; done; }',
    '  if [ -e "$d/lock" ] && command -v flock >/dev/null 2>&1; then',
    '    ( flock -s 8 2>/dev/null 8<"$d/lock" || watch_by_polling ) & watch=$!',
    '  else',
    '    watch_by_polling & watch=$!',
    '  fi',
    'fi',
    // Ended already (as when following again after a lost answer), or died with an earlier
    // boot: its pid may belong to another process by now, so the files are read to their end.
    'if has exit || [ -n "$restarted" ]; then',
    '  follow() { tail -c +$(($2+1)) "$d/$1"; }',
    'else',
    '  case $(tail --version 2>/dev/null) in',
    '  *GNU*) follow() { tail -c +$(($2+1)) --pid="$watch" --sleep-interval=0.1 -f "$d/$1"; } ;;',
    '  *) follow() {',
    '    off=$2; last=',
    '    while :; do',
    '      kill -0 "$watch" 2>/dev/null || last=1',
    '      size=$(wc -c < "$d/$1")',
    '      if [ "$size" -gt "$off" ]; then tail -c +$((off+1)) "$d/$1" | head -c $((size-off)); off=$size; fi',
    '      [ -n "$last" ] && return 0',
    '      sleep 0.1',
    '    done',
    '  } ;;',
    '  esac',
    'fi',
    '[ -e "$d/out" ] || exit 96',
    `follow out ${Math.max(0, Math.floor(offsets.out))} &`,
    `follow err ${Math.max(0, Math.floor(offsets.err))} >&2`,
    'wait',
    `[ -z "$restarted" ] || exit ${HOST_RESTARTED}`,
    'exit 0',
  ].join('\n');
}

/**
 * Reports the run without changing anything (so it can be asked again after a drop):
 * `state=found` (or `gone`), `exit=` once it ended, `out_cut=`/`err_cut=` when the host could
 * not write that stream, the boot ids then and now, `dir=`, and `end=ok`.
 */
export function collectScript(runId: string, runDir?: string): string {
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    BOOT_ID_FUNCTION,
    'find_run started "$@" || { echo state=gone; echo end=ok; exit 0; }',
    'echo state=found',
    'has exit && echo "exit=$(get exit)"',
    'has out.cut && echo "out_cut=$(get out.cut)"',
    'has err.cut && echo "err_cut=$(get err.cut)"',
    'echo "boot=$(get boot)"; echo "boot_now=$(boot_id)"',
    'echo "dir=$d"',
    'echo end=ok',
  ].join('\n');
}

/**
 * Once the run's result is recorded: removes its output and scripts, keeping `started` and
 * `exit` (a few bytes) so that a follow that comes anyway fails instead of running it again.
 */
export function releaseScript(runId: string, runDir?: string): string {
  return [
    runFolderFunctions(runId, runDir),
    'find_run started "$@" || exit 0',
    'rm -f "$d/out" "$d/err" "$d/command" "$d/run" "$d/pid" "$d/boot" "$d/out.cut" "$d/err.cut" "$d/out.pipe" "$d/err.pipe" "$d/lock"',
  ].join('\n');
}

/** TERM to the run's process group (the wrapper records the command's status); nothing once it ended, or for a pid of an earlier boot. */
export function stopScript(runId: string, runDir?: string): string {
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    BOOT_ID_FUNCTION,
    'find_run started "$@" || exit 0',
    'has exit && exit 0',
    'b=$(get boot); [ -z "$b" ] || [ "$b" = "$(boot_id)" ] || exit 0',
    'pid=$(get pid); [ -n "$pid" ] && kill -TERM -"$pid" 2>/dev/null',
    'true',
  ].join('\n');
}

function unitName(runId: string): string {
  return `nightshift-${runId.replace(/[^A-Za-z0-9:_.-]/g, '-')}`;
}
