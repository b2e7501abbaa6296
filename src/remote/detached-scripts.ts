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
// One script, in one channel, claims the folder and starts the command (or finds it started),
// follows out and err from byte offsets nightshift counts itself, and reports the status once
// the command ended (attachScript). After a dropped link the same script, without the start,
// asks for exactly the missing bytes and the status again: a follow never starts anything,
// and reading the status changes nothing. A boot id other than the one recorded
// means the host restarted under the command: it died with it, and a pid from that earlier
// boot is never followed or signalled. Only once the result is recorded on nightshift's side
// is the output released; `started` and `exit` stay behind, so even then the command is
// never started a second time. Everything is POSIX sh, run by /bin/sh.
import { shellQuote } from '../runbook/shell-quote.js';
import { BOOT_ID_FUNCTION, SINK_FUNCTIONS, VALUE_FUNCTIONS } from './host-shell.js';
import { launcherChoice, runFolderFunctions } from './run-folders.js';

/** Exit statuses of the attach script before its begin mark (the start). */
export const START_FAILURES: Record<number, string> = {
  97: 'this host has neither systemd-run nor setsid, so a detached step cannot run there (use attach: false)',
  98: 'the detached command did not start within 10 s',
};
/** The start script found no base it could write a run folder in; its skipped= lines say why. */
export const NO_RUN_FOLDER = 95;
/** systemd-run refused the unit; its words are in the start's report. */
export const SYSTEMD_RUN_FAILED = 99;

/** Exit statuses of the attach script after its begin mark (the follow), beyond the 0 of a complete one. */
export const FOLLOW_FAILURES: Record<number, string> = {
  94: 'the command already ended and its output was released after its result had been recorded; it is not started again',
  96: 'its run folder is gone from the host (removed, or a restart emptied /tmp), so what became of the command cannot be told; it is not started again',
  98: 'the detached command did not start within 10 s',
};
/** The attach script found the host restarted since the command started (and no exit status). */
export const HOST_RESTARTED = 93;

/** Removes all of a run folder ($d) but `started` and `exit`. */
const RELEASE_FILES = 'rm -f "$d/out" "$d/err" "$d/command" "$d/run" "$d/pid" "$d/boot" "$d/out.cut" "$d/err.cut" "$d/out.pipe" "$d/err.pipe" "$d/lock"';

const WRAPPER = [
  'd=${0%/*}',
  VALUE_FUNCTIONS,
  SINK_FUNCTIONS,
  // The lock is taken before the pid is written, so a follow that finds the pid finds it held
  // (or given up, with the file removed: then it watches the pid as before). Nothing else holds
  // it: the command, the sinks and whatever they leave behind get fd 9 closed, so the lock
  // goes when the wrapper does, by its end or by kill -9, reaped or not.
  'if [ -e "$d/lock" ]; then { command exec 9<"$d/lock"; } 2>/dev/null && flock -n 9 2>/dev/null || { command exec 9<&-; rm -f "$d/lock"; }; fi',
  // Written in place, not renamed into place as put does: one process less before the start
  // sees it, and a reader waits for a pid file that is not empty (has_pid).
  `{ printf '%s\\n' $$ > "$d/pid"; } 2>/dev/null || { rm -f "$d/pid"; ln -s $$ "$d/pid"; }`,
  // The start waits for the end of this pipe (setsid only): the pid is written by then.
  'exec 7>&-',
  // A handler (not an ignore, which the command would inherit): the wrapper outlives a
  // TERM sent to the group long enough to record the command's status.
  "trap 'true' TERM HUP INT",
  'if mkfifo "$d/out.pipe" "$d/err.pipe" 2>/dev/null; then',
  // Closed by exec: a redirection on the call would leave the shell a saved copy of fd 9.
  '  { exec 9<&-; sink out; } < "$d/out.pipe" & po=$!',
  '  { exec 9<&-; sink err; } < "$d/err.pipe" & pe=$!',
  '  /bin/sh "$d/command" </dev/null >"$d/out.pipe" 2>"$d/err.pipe" 9<&-',
  '  s=$?',
  // The fifos stay until the run is released.
  '  settle $po $pe',
  'else',
  '  /bin/sh "$d/command" </dev/null >>"$d/out" 2>>"$d/err" 9<&-',
  '  s=$?',
  'fi',
  'put_once exit $s',
].join('\n');

/**
 * `start_run "$@"`: starts the command detached unless it already was. Prints `dir=`,
 * `state=new` or `state=started` and a `skipped=` line per run folder base it could not use;
 * exits NO_RUN_FOLDER, SYSTEMD_RUN_FAILED or a START_FAILURES status when it cannot.
 */
function startFunction(runId: string, command: string): string {
  return [
    'start_run() {',
    '  if find_run started "$@"; then echo "dir=$d"; echo state=started; return 0; fi',
    launcherChoice('  '),
    // Written by printf, a builtin: no process for either file. Where a base failed and is
    // tried again to hear why (make_run's loud), through cat, which names the error where
    // printf says only "I/O error". The boot id goes in before the folder is claimed:
    // whoever finds it started finds it whole.
    `  loud=; _cmd=${shellQuote(command)}`,
    `  _wrap=${shellQuote(WRAPPER)}`,
    `  write_text() { if [ -z "$loud" ]; then printf '%s\\n' "$2" > "$1"; else printf '%s\\n' "$2" | cat > "$1"; fi; }`,
    '  write_files() {',
    '    write_text "$1/command" "$_cmd" &&',
    '    write_text "$1/run" "$_wrap" &&',
    '    : > "$1/out" && : > "$1/err" &&',
    '    { [ -z "$_b" ] || printf \'%s\\n\' "$_b" > "$1/boot"; } &&',
    // Made here, with the folder: the wrapper opens it without needing a free inode.
    '    { ! command -v flock >/dev/null 2>&1 || : > "$1/lock"; }',
    '  }',
    // The command file holds the step's command as sent, secrets included: only its owner
    // reads the run folder. The command itself gets the umask the login gave.
    '  u=${UMASK:-$(umask)}; umask 077; read_boot_id',
    `  make_run "$@" || exit ${NO_RUN_FOLDER}`,
    // The claim: a file made only if none is there (noclobber), by the shell itself. `true`,
    // not `:`, whose failed redirection would end the script here without its status.
    `  set -C; true 2>/dev/null > "$d/started" || exit ${NO_RUN_FOLDER}; set +C`,
    '  umask "$u"',
    '  if [ $how = systemd ]; then',
    `    e=$(systemd-run --quiet --collect --unit=${shellQuote(unitName(runId))} /bin/sh "$d/run" 2>&1 </dev/null) || { echo "$e" >&2; exit ${SYSTEMD_RUN_FAILED}; }`,
    '  else',
    // Read to its end: the wrapper closes its fd 7 once its pid is written, or dies.
    '    _w=$(setsid /bin/sh "$d/run" 7>&1 </dev/null >/dev/null 2>&1 &)',
    '  fi',
    // Started means running in a session of its own: its pid is written once it holds its lock.
    '  i=0',
    '  while ! has_pid; do i=$((i+1)); [ $i -gt 100 ] && exit 98; sleep 0.1; done',
    '  echo "dir=$d"; echo state=new',
    '}',
  ].join('\n');
}

/** Marks in the attach script's stdout, with a nonce that the command cannot know. */
export function attachMarks(nonce: string): { begin: string; end: string } {
  if (!/^[0-9a-f]{8,64}$/.test(nonce)) throw new Error(`Not an attach nonce: ${JSON.stringify(nonce)}`);
  // The end mark starts with a NUL byte, which text never ends in: the command's own output
  // is held back only when a chunk ends in what could be the start of the mark.
  return { begin: `nightshift-begin-${nonce}\n`, end: `\0nightshift-end-${nonce}\n` };
}

/**
 * The whole of a detached step in one channel, three parts on stdout:
 *
 * 1. with `command`: the start, unless the run was started already (`start_run`), its report
 *    lines and anything it said on stderr, then the begin mark. Without `command` (the run is
 *    known to be started) only the begin mark: a follow never starts anything, and a folder
 *    gone by then is reported, never made again.
 * 2. the command's stdout from `offsets.out`, while its stderr from `offsets.err` is this
 *    script's stderr, until the command has ended;
 * 3. the end mark, then the run's report: `exit=` once it ended, `out_cut=`/`err_cut=` when the
 *    host could not write that stream, the boot ids then and now, `dir=`, and `end=ok`.
 *
 * Nothing is changed by parts 2 and 3, so the script can be run again after a drop, from
 * the offsets counted so far. With `awaitRelease` it then waits for `release` on fd 3 and
 * releases the run's output (as releaseScript does) once nightshift has recorded the result. Exits: START_FAILURES, NO_RUN_FOLDER, SYSTEMD_RUN_FAILED before
 * the begin mark; FOLLOW_FAILURES after it; HOST_RESTARTED after the report when the host
 * restarted under the command.
 */
export function attachScript(
  runId: string,
  command: string | undefined,
  offsets: { out: number; err: number },
  nonce: string,
  runDir?: string,
  awaitRelease = false,
): string {
  const marks = attachMarks(nonce);
  return [
    runFolderFunctions(runId, runDir),
    VALUE_FUNCTIONS,
    BOOT_ID_FUNCTION,
    // The wrapper writes its pid in place: a file that is there but still empty is no pid yet.
    'has_pid() { [ -s "$d/pid" ] || [ -L "$d/pid" ]; }',
    ...(command !== undefined ? [startFunction(runId, command), '{ start_run "$@"; } 2>&1'] : []),
    // On a line of its own whatever the start printed last.
    `printf '\\n%s' ${shellQuote(marks.begin)}`,
    followLines(offsets),
    `printf '\\000%s' ${shellQuote(marks.end.slice(1))}`,
    'echo state=found',
    'if has exit; then getv exit; echo "exit=$v"; fi',
    'has out.cut && echo "out_cut=$(get out.cut)"',
    'has err.cut && echo "err_cut=$(get err.cut)"',
    'echo "boot=$b"; echo "boot_now=$n"',
    'echo "dir=$d"',
    'echo end=ok',
    // Launched keeping the channel's input (launcherKeepingInput): nightshift says `release`
    // there once it recorded the result, or ends the input without a word.
    ...(awaitRelease ? ['r=; IFS= read -r r <&3 2>/dev/null', `[ "$r" != release ] || ${RELEASE_FILES}`] : []),
    `[ -z "$restarted" ] || exit ${HOST_RESTARTED}`,
    'exit 0',
  ].join('\n');
}

/**
 * Prints the command's stdout on stdout and its stderr on stderr from the given offsets until
 * it has ended, and nothing else; leaves `b` and `n` the boot ids then and now, and
 * `restarted` set when the host restarted under the command. Never starts it.
 */
function followLines(offsets: { out: number; err: number }): string {
  return [
    'find_run started "$@" || exit 96',
    // Ended and released (its result was recorded): never run again, whoever asks.
    'has exit && [ ! -e "$d/out" ] && exit 94',
    'restarted=; getv boot; b=$v; read_boot_id; n=$_b',
    'if ! has exit && [ -n "$b" ] && [ "$b" != "$n" ]; then restarted=yes; fi',
    'if [ -z "$restarted" ]; then',
    '  i=0',
    '  while ! has_pid; do i=$((i+1)); [ $i -gt 100 ] && exit 98; sleep 0.1; done',
    '  getv pid; pid=$v',
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
    // tail is started straight, not through a function, where it can be: one process less.
    `o_at=${Math.max(0, Math.floor(offsets.out)) + 1}; e_at=${Math.max(0, Math.floor(offsets.err)) + 1}`,
    '[ -e "$d/out" ] || exit 96',
    'if has exit || [ -n "$restarted" ]; then',
    '  tail -c +$o_at "$d/out" & fo=$!',
    '  tail -c +$e_at "$d/err" >&2',
    'else',
    '  case $(tail --version 2>/dev/null) in',
    '  *GNU*)',
    // GNU tail looks at the watcher every 0.1 s, and when a file it follows changes. Once the
    // watcher is reaped, the files are touched: the tails find it gone and end at once,
    // instead of up to 0.1 s later (a step's every run). By name, since by descriptor
    // tail does not hear a touch; what tail itself would say is not the command's output.
    '    tail -c +$o_at --pid="$watch" --sleep-interval=0.1 --follow=name "$d/out" 2>/dev/null & fo=$!',
    '    tail -c +$e_at --pid="$watch" --sleep-interval=0.1 --follow=name "$d/err" >&2 2>/dev/null & fe=$!',
    '    wait "$watch"; touch -c "$d/out" "$d/err" 2>/dev/null',
    '    wait "$fe" ;;',
    '  *)',
    '    follow() {',
    '      off=$(($2-1)); last=',
    '      while :; do',
    '        kill -0 "$watch" 2>/dev/null || last=1',
    '        size=$(wc -c < "$d/$1")',
    '        if [ "$size" -gt "$off" ]; then tail -c +$((off+1)) "$d/$1" | head -c $((size-off)); off=$size; fi',
    '        [ -n "$last" ] && return 0',
    '        sleep 0.1',
    '      done',
    '    }',
    '    follow out $o_at & fo=$!',
    '    follow err $e_at >&2 ;;',
    '  esac',
    'fi',
    // Not a bare wait: the wrapper that start_run left in the background is a child too.
    'wait "$fo"',
  ].join('\n');
}

/**
 * Once the run's result is recorded: removes its output and scripts, keeping `started` and
 * `exit` (a few bytes) so that a follow that comes anyway fails instead of running it again.
 */
export function releaseScript(runId: string, runDir?: string): string {
  return [runFolderFunctions(runId, runDir), 'find_run started "$@" || exit 0', RELEASE_FILES].join('\n');
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
